package e2e

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vkapi "github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"banger/internal/api/client"
	"banger/internal/doctor"
	"banger/internal/kubelet"
)

// TestKubeletProviderRunsPodsAsVMs runs the kubelet's node against
// client-go's fake clientset but a real bangerd and real VMs: what a pod
// becomes in the guest, before a real control plane is in the tree (see
// kubelet_test.go).
func TestKubeletProviderRunsPodsAsVMs(t *testing.T) {
	h, n := goldenVMNet(t, "")
	n.must(t, "daemon", "start")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"}, Data: map[string]string{"greeting": "hello"}}
	cs := fake.NewClientset(cm)
	logs := t.TempDir()
	daemon := kubelet.Client{C: &client.Client{Socket: filepath.Join(envValue(h.env, "XDG_RUNTIME_DIR"), "banger", "bangerd.sock"), Version: "e2e"}}
	stop := serveFake(t, cs, daemon, logs)
	job := pod("job", corev1.RestartPolicyNever, "sh", "-c", "echo hi; exit 3")
	job.UID, job.Spec.NodeName = "00000000-0000-0000-0000-000000000001", kubeNodeName
	job = fakeCreate(t, cs, job, corev1.PodFailed)
	if term := job.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 3 {
		t.Errorf("terminated = %+v, want exit code 3", term)
	}
	if b, err := os.ReadFile(filepath.Join(logs, string(job.UID)+".log")); err != nil || string(b) != "hi\n" {
		t.Errorf("kept output = %q (%v), want %q", b, err, "hi\n")
	}
	long := pod("long", corev1.RestartPolicyAlways, "sleep", "infinity")
	long.UID, long.Spec.NodeName = "00000000-0000-0000-0000-000000000002", kubeNodeName
	long.Spec.Volumes = []corev1.Volume{{Name: "app", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}}}
	long.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "app", MountPath: "/etc/app"}}
	long = fakeCreate(t, cs, long, corev1.PodRunning)
	vm := strings.TrimSpace(n.must(t, "vm", "list", "-q", "--label", "kubelet.banger/pod-uid="+string(long.UID)).stdout)
	if got := strings.TrimSpace(n.must(t, "vm", "exec", vm, "--", "cat", "/etc/app/greeting").stdout); got != "hello" {
		t.Errorf("the ConfigMap's file holds %q", got)
	}
	stop()
	adoptExecDelete(t, n, cs, daemon, long)
}

// serveFake runs a node against cs until the returned stop.
func serveFake(t *testing.T, cs *fake.Clientset, d kubelet.Daemon, logs string) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- kubelet.Serve(ctx, kubelet.Options{
			Kube: cs, Daemon: d,
			Spec: kubelet.NodeSpec{Name: kubeNodeName, IP: "127.0.0.1", Port: 10250, Driver: "qemu", Accel: "tcg",
				Host: kubelet.Host{CPUs: 2, MemoryBytes: 4 << 30, DiskBytes: 20 << 30}, Reserve: kubelet.Reserve{Pods: 4}},
			Sizes:  kubelet.Sizes{VCPU: 1, MemoryMiB: 1024, DiskBytes: 8 << 30},
			Doctor: func(context.Context) ([]doctor.Result, error) { return nil, nil }, DoctorEvery: time.Hour,
			Listen: ":10250", LogDir: logs, Log: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		})
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// adoptExecDelete has a new provider take a running pod's VM back
// without restarting its command, run a command in it, and delete it.
func adoptExecDelete(t *testing.T, n *vmNet, cs *fake.Clientset, d kubelet.Daemon, long *corev1.Pod) {
	ctx := context.Background()
	p := kubelet.NewProvider(kubelet.ProviderConfig{Daemon: d, Node: kubeNodeName, Sizes: kubelet.Sizes{VCPU: 1, MemoryMiB: 1024}, Volumes: kubelet.KubeVolumes(cs)})
	t.Cleanup(p.Close)
	get := func(ctx context.Context, ns, name string) (*corev1.Pod, error) {
		return cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if err := p.Adopt(ctx, get); err != nil {
		t.Fatal(err)
	}
	if err := p.CreatePod(ctx, long); err != nil {
		t.Fatal(err)
	}
	st, err := p.GetPodStatus(ctx, "default", "long")
	if err != nil {
		t.Fatal(err)
	}
	was, now := long.Status.ContainerStatuses[0].State.Running, st.ContainerStatuses[0].State.Running
	if was == nil || now == nil || !now.StartedAt.Equal(&was.StartedAt) {
		t.Errorf("adopted state %+v, want the run that started at %v", now, was)
	}
	out := &bufferCloser{}
	if err := p.RunInContainer(ctx, "default", "long", "main", []string{"hostname"}, stdoutOnly{out}); err != nil || strings.TrimSpace(out.String()) == "" {
		t.Errorf("exec hostname printed %q, %v", out.String(), err)
	}
	grace := int64(3)
	long.DeletionGracePeriodSeconds = &grace
	start := time.Now()
	if err := p.DeletePod(ctx, long); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Duration(grace)*time.Second+5*time.Second, "the deleted pod's VM goes", func() (bool, error) {
		r := n.run("vm", "list", "-q", "--label", "kubelet.banger/pod-uid="+string(long.UID))
		return r.code == 0 && strings.TrimSpace(r.stdout) == "", nil
	})
	t.Logf("the deleted pod's VM went in %s", time.Since(start).Round(time.Millisecond))
}

// bufferCloser is a buffer for an exec's output.
type bufferCloser struct{ bytes.Buffer }

func (b *bufferCloser) Close() error { return nil }

// stdoutOnly is an exec's streams: no input, no terminal.
type stdoutOnly struct{ out *bufferCloser }

func (s stdoutOnly) Stdin() io.Reader              { return nil }
func (s stdoutOnly) Stdout() io.WriteCloser        { return s.out }
func (s stdoutOnly) Stderr() io.WriteCloser        { return s.out }
func (s stdoutOnly) TTY() bool                     { return false }
func (s stdoutOnly) Resize() <-chan vkapi.TermSize { return nil }

// fakeCreate makes p in the fake cluster and waits for its phase.
func fakeCreate(t *testing.T, cs *fake.Clientset, p *corev1.Pod, want corev1.PodPhase) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	waitFor(t, 5*time.Minute, "pod "+p.Name+" is "+string(want), func() (bool, error) {
		var err error
		got, err = cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == want, err
	})
	return got
}

const kubeNodeName = "banger-e2e"

// waitFor polls cond every half second until it holds or d has passed.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last error: %v)", what, d, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// pod is a pod for the banger node: tolerating its taint, booting the
// debian-bookworm image the test pulled.
func pod(name string, policy corev1.RestartPolicy, cmd ...string) *corev1.Pod {
	no := false
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Annotations: map[string]string{"kubelet.banger/image": "debian-bookworm"}},
		Spec: corev1.PodSpec{
			RestartPolicy: policy, AutomountServiceAccountToken: &no,
			Tolerations: []corev1.Toleration{{Key: "virtual-kubelet.io/provider", Operator: corev1.TolerationOpEqual,
				Value: "banger", Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{Name: "main", Image: "debian:bookworm", Command: cmd}},
		},
	}
}
