package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"banger/test/internal/kubecp"
)

func (k *kubeNode) testJob(t *testing.T) {
	p := k.create(t, pod("job-exit-3", corev1.RestartPolicyNever, "sh", "-c", "echo hi; exit 3"), corev1.PodFailed)
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 3 {
		t.Errorf("terminated = %+v, want exit code 3", term)
	}
	if got := k.logs(t, p.Name); got != "hi\n" {
		t.Errorf("logs = %q, want %q", got, "hi\n")
	}
}

func (k *kubeNode) testRefused(t *testing.T) {
	p := pod("two-containers", corev1.RestartPolicyNever, "true")
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "debian:bookworm"})
	got := k.create(t, p, corev1.PodFailed)
	if !strings.Contains(got.Status.Message, "spec.containers") {
		t.Errorf("refusal message %q does not name spec.containers", got.Status.Message)
	}
}

// testLongRunning covers a running pod's IP, exec, a ConfigMap volume,
// two pods at once, a kubelet restart, and deletion.
func (k *kubeNode) testLongRunning(t *testing.T) {
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"}, Data: map[string]string{"greeting": "hello from a ConfigMap"}}
	if _, err := k.kube.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a, b := pod("long-a", corev1.RestartPolicyAlways, "sleep", "infinity"), pod("long-b", corev1.RestartPolicyAlways, "sleep", "infinity")
	a.Spec.Volumes = []corev1.Volume{{Name: "app", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}}}
	a.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "app", MountPath: "/etc/app"}}
	for _, p := range []*corev1.Pod{a, b} {
		if _, err := k.kube.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	a, b = k.await(t, "long-a", corev1.PodRunning), k.await(t, "long-b", corev1.PodRunning)
	// The golden image's sshd listens on the pod's IP.
	probe := fmt.Sprintf("timeout 10 bash -c '</dev/tcp/%s/22'", a.Status.PodIP)
	if out, err := exec.Command("ip", "netns", "exec", k.n.name, "bash", "-c", probe).CombinedOutput(); err != nil {
		t.Errorf("the pod's IP %s does not answer from the host: %v\n%s", a.Status.PodIP, err, out)
	}
	t.Run("exec", func(t *testing.T) {
		// kubectl speaks WebSocket first, which the apiserver turns into
		// SPDY towards the kubelet; older clients speak SPDY throughout.
		for _, client := range []kubecp.ExecClient{kubecp.WebSocket, kubecp.SPDY} {
			if got := k.exec(t, client, "long-a", "hostname"); got == "" {
				t.Errorf("exec hostname with %s printed nothing", client)
			}
			if got := k.exec(t, client, "long-a", "cat", "/etc/app/greeting"); got != "hello from a ConfigMap" {
				t.Errorf("exec cat with %s: the ConfigMap file holds %q", client, got)
			}
		}
	})
	vm := strings.TrimSpace(k.n.must(t, "vm", "list", "-q", "--label", "kubelet.banger/pod-uid="+string(a.UID)).stdout)
	if got := strings.TrimSpace(k.n.must(t, "vm", "exec", vm, "--", "cat", "/etc/app/greeting").stdout); got != "hello from a ConfigMap" {
		t.Errorf("the ConfigMap file in VM %q holds %q", vm, got)
	}
	started := a.Status.ContainerStatuses[0].State.Running.StartedAt
	k.stop()
	k.start(t)
	// The pods' status in the cluster is the old kubelet's until the new
	// one reports: wait until it serves each pod, which it does only once
	// it has them back.
	for _, name := range []string{"long-a", "long-b"} {
		waitFor(t, 2*time.Minute, "the restarted kubelet runs exec in pod "+name, func() (bool, error) {
			out, _, err := kubecp.Exec(context.Background(), k.rest, kubecp.WebSocket, "default", name, "main", "true")
			return err == nil && out == "", nil
		})
	}
	again := k.await(t, "long-a", corev1.PodRunning)
	if cs := again.Status.ContainerStatuses[0]; cs.RestartCount != 0 || cs.State.Running == nil || !cs.State.Running.StartedAt.Equal(&started) {
		t.Errorf("after the kubelet's restart: %+v, want the same run (started %v)", cs, started)
	}
	k.testDelete(t, b)
}

// testDelete deletes a running pod and checks its VM is gone within the
// grace period plus 5 s, and the pod itself well before its grace period
// ends: a kubelet removes a pod once its containers have stopped, so
// `kubectl delete pod` does not wait out the grace period.
func (k *kubeNode) testDelete(t *testing.T, p *corev1.Pod) {
	grace := int64(30)
	start := time.Now()
	if err := k.kube.CoreV1().Pods("default").Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Duration(grace)*time.Second+5*time.Second, "pod "+p.Name+"'s VM is deleted", func() (bool, error) {
		r := k.n.run("vm", "list", "-q", "--label", "kubelet.banger/pod-uid="+string(p.UID))
		return r.code == 0 && strings.TrimSpace(r.stdout) == "", nil
	})
	t.Logf("pod %s's VM went %s after the delete", p.Name, time.Since(start).Round(time.Millisecond))
	waitFor(t, time.Duration(grace)*time.Second/2-time.Since(start), "pod "+p.Name+" is gone from the cluster", func() (bool, error) {
		_, err := k.kube.CoreV1().Pods("default").Get(context.Background(), p.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	t.Logf("pod %s left the cluster %s after the delete", p.Name, time.Since(start).Round(time.Millisecond))
}
