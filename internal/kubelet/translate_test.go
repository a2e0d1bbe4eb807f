package kubelet

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"banger/internal/api"
	"banger/internal/vmname"
)

func TestTranslateSizesFromLimitsThenRequestsThenDefaults(t *testing.T) {
	sizes := Sizes{VCPU: 2, MemoryMiB: 1024, DiskBytes: 8 << 30}
	for _, c := range []struct {
		name      string
		res       corev1.ResourceRequirements
		vcpu, mib int
	}{
		{"defaults", corev1.ResourceRequirements{}, 2, 1024},
		{"requests", corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("300Mi")}}, 1, 300},
		{"limits win", corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2500m"), corev1.ResourceMemory: resource.MustParse("2G")}}, 3, 1908},
	} {
		t.Run(c.name, func(t *testing.T) {
			pod := testPod("p", corev1.RestartPolicyNever, "true")
			pod.Spec.Containers[0].Resources = c.res
			pl, err := translate(pod, "node-1", sizes, fakeVolumes{})
			if err != nil {
				t.Fatal(err)
			}
			if pl.VM.VCPU != c.vcpu || pl.VM.MemoryMiB != c.mib {
				t.Errorf("vcpu %d memory %d MiB, want %d and %d", pl.VM.VCPU, pl.VM.MemoryMiB, c.vcpu, c.mib)
			}
		})
	}
}

func TestTranslateCarriesThePodIntoTheVM(t *testing.T) {
	pod := testPod("Web_Server", corev1.RestartPolicyAlways, "serve")
	c := &pod.Spec.Containers[0]
	c.WorkingDir = "/app"
	c.Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "from a ConfigMap"}}
	c.Ports = []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP}}
	pl, err := translate(pod, "node-1", Sizes{VCPU: 1, MemoryMiB: 512}, fakeVolumes{})
	if err != nil {
		t.Fatal(err)
	}
	if err := vmname.Validate(pl.VM.Name); err != nil {
		t.Errorf("VM name: %v", err)
	}
	want := map[string]string{LabelNode: "node-1", LabelPodUID: string(pod.UID), LabelNamespace: "ci", LabelPod: "Web_Server"}
	if !reflect.DeepEqual(pl.VM.Labels, want) {
		t.Errorf("labels = %v, want %v", pl.VM.Labels, want)
	}
	if pl.Dir != "/app" || strings.Join(pl.Env, ",") != "A=1,B=from a ConfigMap" {
		t.Errorf("dir %q env %q", pl.Dir, pl.Env)
	}
	if len(pl.VM.Ports) != 1 || pl.VM.Ports[0] != (api.PortForward{HostPort: 5353, GuestPort: 53, Proto: "udp"}) {
		t.Errorf("ports = %+v, want only the hostPort one", pl.VM.Ports)
	}
	if pl.OCI != "busybox:1.36" || pl.VM.Image != "" {
		t.Errorf("image %q, OCI %q", pl.VM.Image, pl.OCI)
	}
}

func TestVMNamesAreValidForLongAndOddPodNames(t *testing.T) {
	for _, name := range []string{strings.Repeat("x", 253), "-a.b_c-", "1job"} {
		pod := testPod(name, corev1.RestartPolicyNever)
		if err := vmname.Validate(vmName(pod)); err != nil {
			t.Errorf("pod %q: %v", name, err)
		}
	}
}

func TestVolumesBecomeGuestFiles(t *testing.T) {
	mode := int32(0o600)
	vols := fakeVolumes{
		configMaps: map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"app.conf": "x=1", "other": "y"}}},
		secrets:    map[string]*corev1.Secret{"tok": {Data: map[string][]byte{"token": []byte("s3cret")}}},
	}
	pod := testPod("v", corev1.RestartPolicyNever, "true")
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "tok", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "tok", DefaultMode: &mode}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "cfg", MountPath: "/etc/app"},
		{Name: "cfg", MountPath: "/etc/one.conf", SubPath: "app.conf"},
		{Name: "tok", MountPath: "/run/secrets/app"},
		{Name: "scratch", MountPath: "/scratch"},
	}
	if err := refuse(pod); err != nil {
		t.Fatal(err)
	}
	pl, err := translate(pod, "n", Sizes{}, vols)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range pl.Files {
		got = append(got, fmt.Sprintf("%s %s %o", f.Path, f.Data, f.Mode))
	}
	want := []string{"/etc/app/app.conf x=1 644", "/etc/app/other y 644", "/etc/one.conf x=1 644", "/run/secrets/app/token s3cret 600"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files =\n%q\nwant\n%q", got, want)
	}
	if !reflect.DeepEqual(pl.Dirs, []string{"/scratch"}) {
		t.Errorf("dirs = %q, want /scratch", pl.Dirs)
	}
}

func TestVolumeKeysCannotLeaveTheMount(t *testing.T) {
	vols := fakeVolumes{configMaps: map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"k": "v"}}}}
	pod := testPod("v", corev1.RestartPolicyNever, "true")
	pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "k", Path: "../../etc/shadow"}}}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/app"}}
	if _, err := translate(pod, "n", Sizes{}, vols); err == nil || !strings.Contains(err.Error(), "volumeMounts[0]") {
		t.Errorf("err = %v, want a refusal naming volumeMounts[0]", err)
	}
}

func TestRefusalsNameTheField(t *testing.T) {
	yes := true
	root := int64(1000)
	for field, change := range map[string]func(*corev1.Pod){
		"spec.containers:":    func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0]) },
		"spec.initContainers": func(p *corev1.Pod) { p.Spec.InitContainers = p.Spec.Containers },
		"spec.hostNetwork":    func(p *corev1.Pod) { p.Spec.HostNetwork = true },
		"spec.containers[0].securityContext.privileged": func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		},
		"spec.securityContext.runAsUser": func(p *corev1.Pod) { p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &root} },
		"spec.volumes[0]": func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		},
		"spec.containers[0].ports[0].protocol": func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9, Protocol: corev1.ProtocolSCTP}}
		},
		"spec.containers[0].readinessProbe": func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{} },
		"spec.containers[0].resources.limits[nvidia.com/gpu]": func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
		},
		"spec.containers[0].volumeMounts[0].name": func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}}
		},
		"spec.containers[0].stdin": func(p *corev1.Pod) { p.Spec.Containers[0].Stdin = true },
	} {
		pod := testPod("p", corev1.RestartPolicyNever, "true")
		change(pod)
		err := refuse(pod)
		if err == nil || !strings.HasPrefix(err.Error(), field) {
			t.Errorf("refuse = %v, want an error starting with %q", err, field)
		}
	}
	if err := refuse(testPod("ok", corev1.RestartPolicyNever, "true")); err != nil {
		t.Errorf("a plain pod is refused: %v", err)
	}
}
