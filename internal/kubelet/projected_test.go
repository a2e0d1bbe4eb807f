package kubelet

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// withServiceAccountVolume gives pod the volume the ServiceAccount
// admission plugin adds to every pod that does not opt out.
func withServiceAccountVolume(pod *corev1.Pod) {
	exp, mode := int64(3607), int32(0o644)
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "kube-api-access-x", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{DefaultMode: &mode, Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
		}},
	}})
	c := &pod.Spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "kube-api-access-x", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true})
}

func TestServiceAccountVolumeIsWrittenWithAFreshToken(t *testing.T) {
	d := newFakeDaemon()
	w := newWatched(t, d)
	w.cfg.Volumes = fakeVolumes{configMaps: map[string]*corev1.ConfigMap{"kube-root-ca.crt": {Data: map[string]string{"ca.crt": "CA"}}}}
	pod := testPod("sa", corev1.RestartPolicyNever, "true")
	withServiceAccountVolume(pod)
	if err := refuse(pod); err != nil {
		t.Fatalf("the service account volume is refused: %v", err)
	}
	if err := w.CreatePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod, phase(corev1.PodRunning))
	dir := vmName(pod) + ":/var/run/secrets/kubernetes.io/serviceaccount/"
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, want := range map[string]string{"token": "token-of-default-for-sa", "ca.crt": "CA", "namespace": "ci"} {
		if got := string(d.files[dir+name].Data); got != want {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
}

func TestUnsupportedProjectionsAreRefused(t *testing.T) {
	pod := testPod("p", corev1.RestartPolicyNever, "true")
	pod.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}}}}}}}}}
	err := refuse(pod)
	if err == nil || !strings.HasPrefix(err.Error(), "spec.volumes[0].projected.sources[0].downwardAPI.items[0]") {
		t.Errorf("refuse = %v, want a refusal naming the resourceFieldRef item", err)
	}
}
