package kubecp_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"banger/internal/e2etest"
	"banger/test/internal/kubecp"
)

var ipTool = e2etest.Tool{Name: "ip", Fix: "apt-get install iproute2"}

// The taint a banger node carries, so that only pods that tolerate it land
// there.
var bangerTaint = corev1.Taint{Key: "virtual-kubelet.io/provider", Value: "banger", Effect: corev1.TaintEffectNoSchedule}

// TestSchedulerBindsOnlyTolerantPods runs the real control plane in a
// namespace of its own, registers a node the way banger's kubelet does
// (capacity, allocatable, a taint) and checks that kube-scheduler binds the
// pod that tolerates the taint to it and leaves the other Pending.
func TestSchedulerBindsOnlyTolerantPods(t *testing.T) {
	e2etest.Require(t, "control plane test", e2etest.Needs{Root: true, Tools: []e2etest.Tool{e2etest.Go, ipTool}})
	cp := kubecp.Start(t, newNetns(t))
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	node := registerNode(ctx, t, cs, "banger-test-node")
	tolerant := createPod(ctx, t, cs, "tolerant", true)
	intolerant := createPod(ctx, t, cs, "intolerant", false)

	waitPod(ctx, t, cs, tolerant, "bound to "+node, func(p *corev1.Pod) error {
		if p.Spec.NodeName != node {
			return fmt.Errorf("node %q, phase %s", p.Spec.NodeName, p.Status.Phase)
		}
		t.Logf("pod %s: bound to node %s", tolerant, node)
		return nil
	})
	waitPod(ctx, t, cs, intolerant, "found unschedulable", func(p *corev1.Pod) error {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				if !strings.Contains(c.Message, "taint") {
					return fmt.Errorf("unschedulable for another reason: %s", c.Message)
				}
				t.Logf("pod %s: %s", intolerant, c.Message)
				return nil
			}
		}
		return fmt.Errorf("conditions %v", p.Status.Conditions)
	})
	p, err := cs.CoreV1().Pods("default").Get(ctx, intolerant, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || p.Status.Phase != corev1.PodPending {
		t.Errorf("pod without the toleration: node %q, phase %s; want no node, Pending", p.Spec.NodeName, p.Status.Phase)
	}
}

// newNetns makes a network namespace with only loopback up, removed when
// the test ends.
func newNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("banger-kubecp-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up in %s: %v: %s", name, err, out)
	}
	return name
}

func registerNode(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("2"),
		corev1.ResourceMemory: resource.MustParse("4Gi"),
		corev1.ResourcePods:   resource.MustParse("10"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"type": "virtual-kubelet", "kubernetes.io/role": "agent"}},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{bangerTaint}},
		Status: corev1.NodeStatus{
			Capacity:    resources,
			Allocatable: resources,
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
			}},
		},
	}
	got, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("registering node %s: %v", name, err)
	}
	if got.Status.Allocatable.Cpu().IsZero() {
		t.Fatalf("node %s registered without its allocatable CPUs: %+v", name, got.Status)
	}
	return got.Name
}

func createPod(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string, tolerate bool) string {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "main", Image: "debian:bookworm", Command: []string{"sleep", "60"},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi"),
				}},
			}},
		},
	}
	if tolerate {
		pod.Spec.Tolerations = []corev1.Toleration{{
			Key: bangerTaint.Key, Operator: corev1.TolerationOpEqual, Value: bangerTaint.Value, Effect: bangerTaint.Effect,
		}}
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s: %v", name, err)
	}
	return name
}

// waitPod polls the pod until check passes or ctx ends.
func waitPod(ctx context.Context, t *testing.T, cs kubernetes.Interface, name, what string, check func(*corev1.Pod) error) {
	t.Helper()
	var last error
	for {
		p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			err = check(p)
		}
		if err == nil {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("pod %s was not %s: %v", name, what, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// TestKeyFollowsTheToolsModule checks that the cache key changes with
// go.sum and with the Go version, and with nothing else.
func TestKeyFollowsTheToolsModule(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := func(goVersion string) string {
		t.Helper()
		k, err := kubecp.Key(dir, goVersion)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write("go.mod", "module x\n")
	write("go.sum", "a v1 h1:x\n")
	write("etcd/main.go", "package main\n")
	first := key("go1.26.8")
	if again := key("go1.26.8"); again != first {
		t.Errorf("the same module gave keys %s and %s", first, again)
	}
	if other := key("go1.26.9"); other == first {
		t.Errorf("another Go version kept key %s", first)
	}
	write("go.sum", "a v2 h1:y\n")
	if bumped := key("go1.26.8"); bumped == first {
		t.Errorf("a changed go.sum kept key %s", first)
	}
}
