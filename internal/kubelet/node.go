package kubelet

import (
	"fmt"
	"runtime"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"banger/internal/version"
)

// Node labels and the taint this node carries.
const (
	LabelDriver      = "kubelet.banger/driver"      // qemu or firecracker
	LabelAccelerator = "kubelet.banger/accelerator" // kvm or tcg
	TaintKey         = "virtual-kubelet.io/provider"
	TaintValue       = "banger"
)

// Host is what this machine offers, before the reserve.
type Host struct {
	CPUs        int
	MemoryBytes int64
	DiskBytes   int64 // free in bangerd's state directory
}

// Reserve is what the node keeps back for the host itself, and its pod
// count.
type Reserve struct {
	CPUs        int
	MemoryBytes int64
	DiskBytes   int64
	Pods        int
}

// NodeSpec is how this node registers.
type NodeSpec struct {
	Name       string
	IP         string // its address, where the API server reaches its kubelet API
	Port       int32  // the kubelet API's port
	Host       Host
	Reserve    Reserve
	Driver     string
	Accel      string
	Conditions []corev1.NodeCondition
}

// node is the Node object registered for s.
func (s NodeSpec) node() corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(s.Host.CPUs), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(s.Host.MemoryBytes, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(s.Host.DiskBytes, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(s.Reserve.Pods), resource.DecimalSI),
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(max(s.Host.CPUs-s.Reserve.CPUs, 0)), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(max(s.Host.MemoryBytes-s.Reserve.MemoryBytes, 0), resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(max(s.Host.DiskBytes-s.Reserve.DiskBytes, 0), resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(s.Reserve.Pods), resource.DecimalSI),
	}
	n := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name,
			Labels: map[string]string{
				"type":                   "virtual-kubelet",
				"kubernetes.io/role":     "agent",
				"kubernetes.io/hostname": s.Name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     runtime.GOARCH,
				LabelDriver:              s.Driver,
				LabelAccelerator:         s.Accel,
			},
		},
		Spec: corev1.NodeSpec{
			Taints: []corev1.Taint{{Key: TaintKey, Value: TaintValue, Effect: corev1.TaintEffectNoSchedule}},
		},
		Status: corev1.NodeStatus{
			Phase:       corev1.NodeRunning,
			Capacity:    capacity,
			Allocatable: alloc,
			Conditions:  s.Conditions,
			Addresses:   []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: s.Name}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{
				KubeletEndpoint: corev1.DaemonEndpoint{Port: s.Port},
			},
			NodeInfo: corev1.NodeSystemInfo{
				OperatingSystem: "linux", Architecture: runtime.GOARCH,
				KubeletVersion:          "banger-" + version.Version,
				ContainerRuntimeVersion: fmt.Sprintf("banger://%s", version.Version),
			},
		},
	}
	if s.IP != "" {
		n.Status.Addresses = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: s.IP}}, n.Status.Addresses...)
	}
	return n
}
