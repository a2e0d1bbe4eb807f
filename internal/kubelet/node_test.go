package kubelet

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"banger/internal/doctor"
)

func TestNodeOffersTheHostMinusTheReserve(t *testing.T) {
	s := NodeSpec{
		Name: "ci-3", IP: "10.0.0.5", Port: 10250, Driver: "qemu", Accel: "kvm",
		Host:    Host{CPUs: 16, MemoryBytes: 64 << 30, DiskBytes: 500 << 30},
		Reserve: Reserve{CPUs: 2, MemoryBytes: 4 << 30, DiskBytes: 50 << 30, Pods: 40},
	}
	n := s.node()
	alloc, capa := n.Status.Allocatable, n.Status.Capacity
	if c := alloc[corev1.ResourceCPU]; c.Value() != 14 {
		t.Errorf("allocatable cpu = %s, want 14", c.String())
	}
	if m := alloc[corev1.ResourceMemory]; m.Value() != 60<<30 {
		t.Errorf("allocatable memory = %s, want 60Gi", m.String())
	}
	if d := alloc[corev1.ResourceEphemeralStorage]; d.Value() != 450<<30 {
		t.Errorf("allocatable disk = %s, want 450Gi", d.String())
	}
	if c := capa[corev1.ResourceCPU]; c.Value() != 16 {
		t.Errorf("capacity cpu = %s, want 16", c.String())
	}
	if p := alloc[corev1.ResourcePods]; p.Value() != 40 {
		t.Errorf("pods = %s, want 40", p.String())
	}
	if n.Labels[LabelDriver] != "qemu" || n.Labels[LabelAccelerator] != "kvm" {
		t.Errorf("labels = %v", n.Labels)
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != TaintKey || n.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("taints = %+v", n.Spec.Taints)
	}
	if n.Status.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}) || n.Status.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
		t.Errorf("addresses %+v, endpoint %+v", n.Status.Addresses, n.Status.DaemonEndpoints)
	}
}

func TestConditionsFollowDoctor(t *testing.T) {
	now := time.Now()
	ok := conditions([]doctor.Result{{Name: "kvm", Status: doctor.Pass}, {Name: "disk", Status: doctor.Pass, Summary: "90G free"}}, nil, now)
	if c := find(ok, corev1.NodeReady); c.Status != corev1.ConditionTrue {
		t.Errorf("Ready = %+v with every check passing", c)
	}
	bad := conditions([]doctor.Result{{Name: "daemon", Status: doctor.Fail, Summary: "not running"}, {Name: "disk", Status: doctor.Warn, Summary: "2G free"}}, nil, now)
	if c := find(bad, corev1.NodeReady); c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, "daemon: not running") {
		t.Errorf("Ready = %+v, want False naming the daemon check", c)
	}
	if c := find(bad, corev1.NodeDiskPressure); c.Status != corev1.ConditionTrue {
		t.Errorf("DiskPressure = %+v with the disk check warning", c)
	}
	if c := find(conditions(nil, errors.New("banger: not found"), now), corev1.NodeReady); c.Status != corev1.ConditionFalse {
		t.Errorf("Ready = %+v when doctor could not run", c)
	}
}

func TestDriverAndAccelerator(t *testing.T) {
	kvm := doctor.Result{Name: "kvm", Status: doctor.Pass}
	fc := doctor.Result{Name: "firecracker", Status: doctor.Pass, Summary: "firecracker v1.10"}
	noFC := doctor.Result{Name: "firecracker", Status: doctor.Pass, Summary: "not installed; vmm = auto uses QEMU"}
	for _, c := range []struct {
		results       []doctor.Result
		vmm           string
		driver, accel string
	}{
		{[]doctor.Result{kvm, fc}, "auto", "firecracker", "kvm"},
		{[]doctor.Result{kvm, fc}, "qemu", "qemu", "kvm"},
		{[]doctor.Result{kvm, noFC}, "auto", "qemu", "kvm"},
		{[]doctor.Result{{Name: "kvm", Status: doctor.Warn}, fc}, "auto", "qemu", "tcg"},
	} {
		if d, a := driverAndAccel(c.results, c.vmm); d != c.driver || a != c.accel {
			t.Errorf("driverAndAccel(%v, %s) = %s, %s; want %s, %s", c.results, c.vmm, d, a, c.driver, c.accel)
		}
	}
}

func find(cs []corev1.NodeCondition, typ corev1.NodeConditionType) corev1.NodeCondition {
	for _, c := range cs {
		if c.Type == typ {
			return c
		}
	}
	return corev1.NodeCondition{}
}

func TestVirtualInterfacesAreNotTheNodesAddress(t *testing.T) {
	for name, want := range map[string]bool{"banger0": true, "tap-vm1": true, "docker0": true, "eth0": false, "enp3s0": false, "wlan0": false} {
		if got := virtualInterface(name); got != want {
			t.Errorf("virtualInterface(%q) = %v, want %v", name, got, want)
		}
	}
}
