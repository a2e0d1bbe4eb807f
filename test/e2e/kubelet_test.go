package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"banger/test/internal/kubecp"
)

// kubeNode is a banger kubelet joined to a real control plane (package
// kubecp: kube-apiserver, etcd and kube-scheduler on 127.0.0.1 in the
// test's network namespace), with the VMs of its pods in that namespace
// too.
type kubeNode struct {
	n          *vmNet
	kube       kubernetes.Interface
	rest       *rest.Config
	kubeconfig string
	clientCA   string
	stop       func()
}

var buildKubelet = sync.OnceValue(func() error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X banger/internal/version.Version=e2e",
		"-o", h.bin+"/", "banger/cmd/banger-kubelet")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
})

// TestKubelet checks the acceptance list against real VMs: one
// node, and pods made through the API server, placed by the scheduler.
func TestKubelet(t *testing.T) {
	_, n := goldenVMNet(t, "")
	if err := buildKubelet(); err != nil {
		t.Fatalf("building banger-kubelet: %v", err)
	}
	k := startKubeNode(t, n)
	t.Run("node", k.testNode)
	t.Run("job", k.testJob)
	t.Run("refused", k.testRefused)
	t.Run("long-running", k.testLongRunning)
}

// startKubeNode starts the control plane and `banger kubelet` in n.
func startKubeNode(t *testing.T, n *vmNet) *kubeNode {
	t.Helper()
	cp := kubecp.Start(t, n.name)
	// exec's SPDY stream dials for itself, so the test's clients go
	// through a forwarder into the namespace.
	cfg := cp.ForwardedConfig(t)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The API server's kubelet client certificate is signed by the
	// cluster's CA, which signs every certificate of the control plane.
	k := &kubeNode{n: n, kube: kube, rest: cfg, kubeconfig: cp.Kubeconfig, clientCA: filepath.Join(cp.Dir, "ca.crt")}
	k.start(t)
	t.Cleanup(func() { k.stop() })
	return k
}

// start runs the kubelet until k.stop.
func (k *kubeNode) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", k.n.name, filepath.Join(k.n.h.bin, "banger"), "kubelet",
		"--kubeconfig", k.kubeconfig, "--node-name", kubeNodeName, "--node-ip", "127.0.0.1",
		"--client-ca", k.clientCA, "--doctor-every", "10s")
	cmd.Env = append(append([]string{}, k.n.h.env...), "BANGER_KUBELET_BIN="+filepath.Join(k.n.h.bin, "banger-kubelet"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting banger kubelet: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	k.stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("banger kubelet's log:\n%s", log.String())
		}
	}
}

func (k *kubeNode) testNode(t *testing.T) {
	var node *corev1.Node
	waitFor(t, 2*time.Minute, "the node registers and is Ready", func() (bool, error) {
		var err error
		node, err = k.kube.CoreV1().Nodes().Get(context.Background(), kubeNodeName, metav1.GetOptions{})
		return err == nil && ready(node), err
	})
	if cpu := node.Status.Allocatable[corev1.ResourceCPU]; cpu.IsZero() {
		t.Errorf("the node offers no CPU: %+v", node.Status.Allocatable)
	}
	if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != "virtual-kubelet.io/provider" {
		t.Errorf("taints = %+v", node.Spec.Taints)
	}
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// create makes p and waits until its phase is want.
func (k *kubeNode) create(t *testing.T, p *corev1.Pod, want corev1.PodPhase) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	if _, err := k.kube.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return k.await(t, p.Name, want)
}

func (k *kubeNode) await(t *testing.T, name string, want corev1.PodPhase) *corev1.Pod {
	t.Helper()
	var got *corev1.Pod
	waitFor(t, 5*time.Minute, "pod "+name+" is "+string(want), func() (bool, error) {
		var err error
		got, err = k.kube.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == want, err
	})
	if got.Spec.NodeName != kubeNodeName {
		t.Errorf("pod %s is on node %q, want %s", name, got.Spec.NodeName, kubeNodeName)
	}
	return got
}

// logs is what `kubectl logs` shows of a pod.
func (k *kubeNode) logs(t *testing.T, name string) string {
	t.Helper()
	r, err := k.kube.CoreV1().Pods("default").GetLogs(name, &corev1.PodLogOptions{}).Stream(context.Background())
	if err != nil {
		t.Fatalf("logs of %s: %v", name, err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

// exec is what `kubectl exec` prints of cmd in a pod on stdout, with
// client.
func (k *kubeNode) exec(t *testing.T, client kubecp.ExecClient, name string, cmd ...string) string {
	t.Helper()
	stdout, stderr, err := kubecp.Exec(context.Background(), k.rest, client, "default", name, "main", cmd...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	return strings.TrimSpace(stdout)
}
