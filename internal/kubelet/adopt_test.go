package kubelet

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"banger/internal/api"
)

// podGetter reads pods from client-go's fake clientset.
func podGetter(cs *fake.Clientset) PodGetter {
	return func(ctx context.Context, ns, name string) (*corev1.Pod, error) {
		return cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	}
}

// leftVM is the VM a previous kubelet made for pod, its command running
// since started.
func leftVM(d *fakeDaemon, pod *corev1.Pod, started time.Time) string {
	vm := vmName(pod)
	d.vms[vm] = api.VM{Name: vm, State: "running", IP: "172.16.0.9", Labels: map[string]string{
		LabelNode: "node-1", LabelPodUID: string(pod.UID), LabelNamespace: pod.Namespace, LabelPod: pod.Name,
	}}
	d.sessions[vm] = &api.Session{VM: vm, Name: sessionName, State: api.SessionRunning, Started: started}
	return vm
}

func TestAdoptTakesRunningPodsBackWithoutRestartingThem(t *testing.T) {
	ctx := context.Background()
	d := newFakeDaemon()
	pod := testPod("long", corev1.RestartPolicyAlways, "serve")
	started := time.Now().Add(-time.Hour).Truncate(time.Second)
	vm := leftVM(d, pod, started)
	cs := fake.NewClientset(pod)
	w := newWatched(t, d)
	if err := w.Adopt(ctx, podGetter(cs)); err != nil {
		t.Fatal(err)
	}
	// virtual-kubelet hands the pod over as it lists it.
	handed := pod.DeepCopy()
	handed.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", RestartCount: 2}}
	if err := w.CreatePod(ctx, handed); err != nil {
		t.Fatal(err)
	}
	st := w.await(t, pod, phase(corev1.PodRunning))
	if run := st.ContainerStatuses[0].State.Running; run == nil || !run.StartedAt.Time.Equal(started) {
		t.Errorf("running state = %+v, want started at %v", run, started)
	}
	if st.PodIP != "172.16.0.9" {
		t.Errorf("pod IP = %q", st.PodIP)
	}
	if got := append(d.called("create "), d.called("start ")...); len(got) > 0 {
		t.Errorf("adopting made or started something: %q", got)
	}
	if n := st.ContainerStatuses[0].RestartCount; n != 2 {
		t.Errorf("restart count = %d, want the 2 the cluster had", n)
	}
	d.exit(vm, 0, "")
	w.await(t, pod, func(st corev1.PodStatus) bool { return st.ContainerStatuses[0].RestartCount == 3 })
}

func TestAdoptDeletesVMsWhosePodIsGoneOrReplaced(t *testing.T) {
	ctx := context.Background()
	d := newFakeDaemon()
	gone := testPod("gone", corev1.RestartPolicyAlways, "serve")
	replaced := testPod("replaced", corev1.RestartPolicyAlways, "serve")
	goneVM, replacedVM := leftVM(d, gone, time.Now()), leftVM(d, replaced, time.Now())
	other := testPod("elsewhere", corev1.RestartPolicyAlways, "serve")
	otherVM := leftVM(d, other, time.Now())
	d.vms[otherVM].Labels[LabelNode] = "node-2"
	now := replaced.DeepCopy()
	now.UID = "99999999-0000-0000-0000-000000000000"
	cs := fake.NewClientset(now)
	w := newWatched(t, d)
	if err := w.Adopt(ctx, podGetter(cs)); err != nil {
		t.Fatal(err)
	}
	for _, vm := range []string{goneVM, replacedVM} {
		if _, err := d.GetVM(ctx, vm); err == nil {
			t.Errorf("VM %s of a pod that is no more was kept", vm)
		}
	}
	if _, err := d.GetVM(ctx, otherVM); err != nil {
		t.Errorf("another node's VM was touched: %v", err)
	}
	if pods, _ := w.GetPods(ctx); len(pods) != 0 {
		t.Errorf("adopted %d pods, want none", len(pods))
	}
}

func TestAdoptRemovesAPodDeletedWhileNoKubeletRan(t *testing.T) {
	ctx := context.Background()
	d := newFakeDaemon()
	pod := testPod("deleted", corev1.RestartPolicyAlways, "serve")
	vm := leftVM(d, pod, time.Now())
	deleting := pod.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	w := newWatched(t, d)
	if err := w.Adopt(ctx, podGetter(fake.NewClientset(deleting))); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetVM(ctx, vm); err == nil {
		t.Errorf("VM %s of a pod being deleted was kept", vm)
	}
	// virtual-kubelet finds no such pod on the node and would leave it in
	// the cluster for its whole grace period.
	if got := d.called("remove pod "); len(got) != 1 || !strings.HasSuffix(got[0], "uid="+string(pod.UID)) {
		t.Errorf("removed from the cluster: %q, want the deleted pod once", got)
	}
}

func TestAdoptedVMWithoutItsCommandGetsItsFilesAndCommand(t *testing.T) {
	ctx := context.Background()
	d := newFakeDaemon()
	pod := testPod("half", corev1.RestartPolicyAlways, "serve")
	pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/app"}}
	vm := leftVM(d, pod, time.Now())
	delete(d.sessions, vm) // the last kubelet stopped before starting it
	w := newWatched(t, d)
	w.cfg.Volumes = fakeVolumes{configMaps: map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"k": "v"}}}}
	if err := w.Adopt(ctx, podGetter(fake.NewClientset(pod))); err != nil {
		t.Fatal(err)
	}
	if err := w.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod, phase(corev1.PodRunning))
	if got := d.called("write " + vm + " /etc/app/k"); len(got) != 1 {
		t.Errorf("volume file writes = %q, want one", got)
	}
	if got := d.called("create "); len(got) > 0 {
		t.Errorf("made another VM: %q", got)
	}
}
