package kubelet

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"

	"banger/internal/doctor"
	"banger/internal/eventually"
	"banger/internal/syncbuf"
)

// TestServeRegistersTheNodeAndRunsItsPods runs the whole node against
// client-go's fake clientset: virtual-kubelet's controllers, this
// provider, and a bangerd in memory.
func TestServeRegistersTheNodeAndRunsItsPods(t *testing.T) {
	cs := fake.NewClientset()
	d := newFakeDaemon()
	ctx := context.Background()
	serve(t, cs, d, func(context.Context) ([]doctor.Result, error) { return nil, nil })
	var node *corev1.Node
	eventually.True(t, func() bool {
		n, err := cs.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
		node = n
		return err == nil
	})
	if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != TaintKey {
		t.Errorf("node taints = %+v", node.Spec.Taints)
	}
	if c := node.Status.Allocatable[corev1.ResourceCPU]; c.Value() != 3 {
		t.Errorf("allocatable cpu = %s, want 3", c.String())
	}
	pod := testPod("job-1", corev1.RestartPolicyNever, "sh", "-c", "echo hi; exit 3")
	pod.Spec.NodeName = "node-1"
	if _, err := cs.CoreV1().Pods("ci").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	podPhase := func(want corev1.PodPhase) func() bool {
		return func() bool {
			p, err := cs.CoreV1().Pods("ci").Get(ctx, "job-1", metav1.GetOptions{})
			pod = p
			return err == nil && p.Status.Phase == want
		}
	}
	eventually.True(t, podPhase(corev1.PodRunning))
	if pod.Status.PodIP == "" {
		t.Errorf("a running pod without an IP: %+v", pod.Status)
	}
	d.exit(vmName(pod), 3, "hi\n")
	eventually.True(t, podPhase(corev1.PodFailed))
	if term := pod.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 3 {
		t.Errorf("terminated = %+v, want exit code 3", term)
	}
}

func TestClientGosLogGoesToTheNodesLog(t *testing.T) {
	cs := fake.NewClientset()
	var buf syncbuf.Buffer
	serveLogged(t, cs, newFakeDaemon(), func(context.Context) ([]doctor.Result, error) { return nil, nil },
		slog.New(slog.NewTextHandler(&buf, nil)))
	eventually.True(t, func() bool {
		_, err := cs.CoreV1().Nodes().Get(context.Background(), "node-1", metav1.GetOptions{})
		return err == nil
	})
	// client-go's informers and leader code log through klog; by
	// default that is straight to stderr, beside the node's own log.
	klog.InfoS("a line from client-go")
	eventually.True(t, func() bool { return strings.Contains(buf.String(), "a line from client-go") })
}

func TestNodeConditionsFollowDoctorsRuns(t *testing.T) {
	cs := fake.NewClientset()
	serve(t, cs, newFakeDaemon(), func(context.Context) ([]doctor.Result, error) {
		return []doctor.Result{{Name: "daemon", Status: doctor.Fail, Summary: "bangerd is not running"}}, nil
	})
	eventually.True(t, func() bool {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), "node-1", metav1.GetOptions{})
		if err != nil {
			return false
		}
		c := find(n.Status.Conditions, corev1.NodeReady)
		return c.Status == corev1.ConditionFalse && strings.Contains(c.Message, "bangerd is not running")
	})
}

// serve runs a node on cs and d, with doc for doctor, until the test ends.
func serve(t *testing.T, cs *fake.Clientset, d Daemon, doc Doctor) {
	serveLogged(t, cs, d, doc, slog.New(slog.DiscardHandler))
}

// serveLogged is serve with the node's log going to log.
func serveLogged(t *testing.T, cs *fake.Clientset, d Daemon, doc Doctor, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{
			Kube: cs, Daemon: d, Sizes: Sizes{VCPU: 1, MemoryMiB: 512},
			Spec: NodeSpec{Name: "node-1", IP: "10.0.0.5", Port: 10250, Driver: "qemu", Accel: "tcg",
				Host: Host{CPUs: 4, MemoryBytes: 8 << 30, DiskBytes: 100 << 30}, Reserve: Reserve{CPUs: 1, Pods: 10}},
			Doctor: doc, DoctorEvery: 10 * time.Millisecond, Listen: "127.0.0.1:10250", LogDir: t.TempDir(),
			Log: log,
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}
