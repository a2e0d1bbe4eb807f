package kubecp_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"banger/internal/doctor"
	"banger/internal/e2etest"
	"banger/internal/kubelet"
	"banger/test/internal/kubecp"
)

// execRounds is how many times each client runs the quick command: one
// run in three lost its output when the bug was there.
const execRounds = 50

const execNode = "banger-exec-node"

// TestExecThroughTheAPIServerKeepsQuickOutput runs banger's kubelet
// (Serve, its TLS server and virtual-kubelet's exec handler) against the
// real control plane, with a bangerd in memory whose commands print at
// once and exit, and runs `kubectl exec` through the apiserver many
// times with each client kubectl may use. Every run must print the
// command's output, each stream to its own writer.
func TestExecThroughTheAPIServerKeepsQuickOutput(t *testing.T) {
	e2etest.Require(t, "control plane test", e2etest.Needs{Root: true, Tools: []e2etest.Tool{e2etest.Go, ipTool}})
	cp := kubecp.Start(t, newNetns(t))
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	serveNode(t, cp, cs, &quickDaemon{stdout: "out of a quick command\n", stderr: "a warning\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runQuickPod(ctx, t, cs)
	// The exec clients dial for themselves, through a forwarder.
	fwd := cp.ForwardedConfig(t)
	for _, client := range []kubecp.ExecClient{kubecp.SPDY, kubecp.WebSocket} {
		lost := 0
		for range execRounds {
			stdout, stderr, err := kubecp.Exec(ctx, fwd, client, "default", "quick", "main", "hostname")
			if err != nil {
				t.Fatal(err)
			}
			if stdout != "out of a quick command\n" || stderr != "a warning\n" {
				t.Logf("%s: stdout %q, stderr %q", client, stdout, stderr)
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("%s: %d of %d execs lost some of their output", client, lost, execRounds)
		}
	}
}

// runQuickPod makes a pod on the node and waits until it runs.
func runQuickPod(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "quick", Namespace: "default", Annotations: map[string]string{kubelet.AnnotationImage: "debian-bookworm"}},
		Spec: corev1.PodSpec{
			NodeName:    execNode,
			Containers:  []corev1.Container{{Name: "main", Image: "debian:bookworm", Command: []string{"sleep", "infinity"}}},
			Tolerations: []corev1.Toleration{{Key: bangerTaint.Key, Operator: corev1.TolerationOpExists}},
		},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(ctx, t, cs, "quick", "Running", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %s", p.Status.Phase)
		}
		return nil
	})
}

// serveNode runs kubelet.Serve on d until the test ends. Its kubelet API
// listens on 127.0.0.1:10250 inside the control plane's namespace, where
// the apiserver reaches it: the goroutine that opens the listener runs on
// an OS thread that entered the namespace and is thrown away afterwards
// (it ends still locked). Serve's other goroutines stay in the host's
// namespace and reach the apiserver through cp.Config's Dial.
func serveNode(t *testing.T, cp *kubecp.ControlPlane, cs kubernetes.Interface, d kubelet.Daemon) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		target, err := netns.GetFromName(cp.NS)
		if err == nil {
			err = netns.Set(target)
			target.Close()
		}
		if err != nil {
			done <- fmt.Errorf("entering network namespace %s: %w", cp.NS, err)
			return
		}
		done <- kubelet.Serve(ctx, kubelet.Options{
			Kube: cs, Daemon: d, Sizes: kubelet.Sizes{VCPU: 1, MemoryMiB: 512},
			Spec: kubelet.NodeSpec{Name: execNode, IP: "127.0.0.1", Port: 10250, Driver: "qemu", Accel: "tcg",
				Host: kubelet.Host{CPUs: 4, MemoryBytes: 8 << 30, DiskBytes: 100 << 30}, Reserve: kubelet.Reserve{Pods: 10}},
			Doctor:      func(context.Context) ([]doctor.Result, error) { return nil, nil },
			DoctorEvery: time.Minute, Listen: "127.0.0.1:10250", LogDir: t.TempDir(),
			TLS: &kubelet.TLSOptions{ClientCA: filepath.Join(cp.Dir, "ca.crt")},
			Log: slog.New(slog.DiscardHandler),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}
