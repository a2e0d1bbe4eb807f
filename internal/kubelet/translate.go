package kubelet

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"banger/internal/api"
)

// Labels a pod's VM carries, so that a restarted kubelet finds it again.
const (
	LabelNode      = "kubelet.banger/node"
	LabelPodUID    = "kubelet.banger/pod-uid"
	LabelNamespace = "kubelet.banger/namespace"
	LabelPod       = "kubelet.banger/pod"
)

// AnnotationImage, on a pod, names a banger image (`banger image list`)
// to boot instead of pulling the container's OCI image.
const AnnotationImage = "kubelet.banger/image"

// sessionName is the guest agent session that runs the container's
// command.
const sessionName = "main"

// Sizes is what a VM gets when its container asks for nothing.
type Sizes struct {
	VCPU      int
	MemoryMiB int
	DiskBytes int64
}

// plan is a pod translated into what bangerd is asked for.
type plan struct {
	VM  api.CreateVMRequest
	OCI string // the container's image reference, when VM.Image is to be pulled
	// Command and Args are the container's; nil ones come from the OCI
	// image's own entrypoint and cmd.
	Command, Args []string
	Env           []string
	Dir           string
	Files         []guestFile
	Dirs          []string // emptyDir mount points to make
}

// guestFile is one file a volume puts in the guest: Data, or the token
// Token asks for.
type guestFile struct {
	Path  string
	Mode  uint32
	Data  []byte
	Token *tokenRequest
}

// vmName is the VM of a pod: its namespace and name as far as they fit
// a VM name, and the start of its UID so that a pod made again under the
// same name gets another VM.
func vmName(pod *corev1.Pod) string {
	var b strings.Builder
	for _, r := range strings.ToLower(pod.Namespace + "-" + pod.Name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-")
	if len(base) > 44 {
		base = strings.TrimRight(base[:44], "-")
	}
	uid := strings.ReplaceAll(string(pod.UID), "-", "")
	if len(uid) > 10 {
		uid = uid[:10]
	}
	return "pod-" + base + "-" + uid
}

// translate turns an accepted pod (see refuse) into a plan.
func translate(pod *corev1.Pod, node string, sizes Sizes, vols volumeSource) (plan, error) {
	c := pod.Spec.Containers[0]
	p := plan{Command: c.Command, Args: c.Args, Dir: c.WorkingDir}
	p.VM = api.CreateVMRequest{
		Name:      vmName(pod),
		VCPU:      vcpus(c.Resources, sizes.VCPU),
		MemoryMiB: memoryMiB(c.Resources, sizes.MemoryMiB),
		DiskBytes: sizes.DiskBytes,
		AgentExec: true,
		Labels: map[string]string{
			LabelNode: node, LabelPodUID: string(pod.UID),
			LabelNamespace: pod.Namespace, LabelPod: pod.Name,
		},
		Ports: hostPorts(c.Ports),
	}
	if name := pod.Annotations[AnnotationImage]; name != "" {
		p.VM.Image = name
	} else {
		p.OCI = c.Image
	}
	for _, e := range c.Env {
		p.Env = append(p.Env, e.Name+"="+e.Value)
	}
	files, dirs, err := volumeFiles(pod, vols)
	if err != nil {
		return plan{}, err
	}
	p.Files, p.Dirs = files, dirs
	return p, nil
}

// vcpus is the container's CPU limit, else its request, rounded up to
// whole vCPUs, else def.
func vcpus(r corev1.ResourceRequirements, def int) int {
	q, ok := pick(r, corev1.ResourceCPU)
	if !ok {
		return def
	}
	n := int((q.MilliValue() + 999) / 1000)
	return max(n, 1)
}

// memoryMiB is the container's memory limit, else its request, rounded
// up to whole MiB, else def.
func memoryMiB(r corev1.ResourceRequirements, def int) int {
	q, ok := pick(r, corev1.ResourceMemory)
	if !ok {
		return def
	}
	const mib = 1 << 20
	return int((q.Value() + mib - 1) / mib)
}

func pick(r corev1.ResourceRequirements, name corev1.ResourceName) (resource.Quantity, bool) {
	if q, ok := r.Limits[name]; ok && !q.IsZero() {
		return q, true
	}
	if q, ok := r.Requests[name]; ok && !q.IsZero() {
		return q, true
	}
	return resource.Quantity{}, false
}

// hostPorts are the container ports published on the host: those with a
// hostPort. The others are reached at the pod's IP, the VM's address.
func hostPorts(ports []corev1.ContainerPort) []api.PortForward {
	var out []api.PortForward
	for _, p := range ports {
		if p.HostPort == 0 {
			continue
		}
		out = append(out, api.PortForward{
			HostAddr: p.HostIP, HostPort: int(p.HostPort), GuestPort: int(p.ContainerPort),
			Proto: strings.ToLower(string(p.Protocol)),
		})
	}
	return out
}

// argv is the command the session runs, Kubernetes' way: command
// replaces the image's entrypoint and args its cmd; args alone keep the
// entrypoint.
func argv(command, args []string, img imageConfig) ([]string, error) {
	switch {
	case len(command) > 0:
		return append(append([]string{}, command...), args...), nil
	case len(args) > 0:
		return append(append([]string{}, img.Entrypoint...), args...), nil
	}
	out := append(append([]string{}, img.Entrypoint...), img.Cmd...)
	if len(out) == 0 {
		return nil, fmt.Errorf("spec.containers[0].command: the pod gives no command and its image has no entrypoint or cmd: set command")
	}
	return out, nil
}

// imageConfig is what an OCI image says about running it, as banger's
// flattening writes it into the guest (see oci.ImageConfig).
type imageConfig struct {
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkDir    string   `json:"workdir,omitempty"`
}
