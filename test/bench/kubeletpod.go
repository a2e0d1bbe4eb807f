package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"banger/internal/kubelet"
)

// podTimes are one pod's times from its creation.
type podTimes struct {
	bound   time.Duration // until kube-scheduler bound it to a node
	running time.Duration // until its phase was Running
}

// benchPod asks for the golden image, tolerates the banger node's taint
// and names no node: kube-scheduler places it.
func benchPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Annotations: map[string]string{kubelet.AnnotationImage: goldenImage}},
		// The default grace period: a deleted pod leaves the cluster as
		// soon as its VM is gone.
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Tolerations: []corev1.Toleration{{Key: kubelet.TaintKey, Operator: corev1.TolerationOpEqual,
				Value: kubelet.TaintValue, Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{Name: "main", Image: goldenImage, Command: []string{"sleep", "infinity"}}}},
	}
}

// podToRunning creates a pod, times it to bound and to Running by a watch
// opened before it, then deletes it and waits for it and its VM to go.
func (k kubeletBench) podToRunning(ctx context.Context, cs kubernetes.Interface, name string) (podTimes, error) {
	pods := cs.CoreV1().Pods("default")
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	w, err := pods.Watch(wctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return podTimes{}, fmt.Errorf("watching pod %s: %w", name, err)
	}
	defer w.Stop()
	start := time.Now()
	created, err := pods.Create(ctx, benchPod(name), metav1.CreateOptions{})
	if err != nil {
		return podTimes{}, fmt.Errorf("creating pod %s: %w", name, err)
	}
	var t podTimes
	var last *corev1.Pod
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		last = p
		if p.Spec.NodeName != "" && t.bound == 0 {
			t.bound = time.Since(start)
		}
		if p.Status.Phase == corev1.PodRunning {
			t.running = time.Since(start)
			break
		}
	}
	if t.running == 0 {
		return t, fmt.Errorf("pod %s was not Running within 5m (last seen: %s)", name, describePod(last))
	}
	if last.Spec.NodeName != benchNode {
		return t, fmt.Errorf("pod %s ran on node %q, want %s", name, last.Spec.NodeName, benchNode)
	}
	return t, k.deletePod(ctx, cs, name, string(created.UID))
}

// deletePod deletes the pod and waits until the apiserver and the daemon
// have neither it nor its VM.
func (k kubeletBench) deletePod(ctx context.Context, cs kubernetes.Interface, name, uid string) error {
	pods := cs.CoreV1().Pods("default")
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("deleting pod %s: %w", name, err)
	}
	err := pollUntil(ctx, 2*time.Minute, 10*time.Millisecond, func() bool {
		vms, err := k.b.api.ListVMs(ctx, kubelet.LabelPodUID+"="+uid)
		return err == nil && len(vms) == 0
	})
	if err == nil {
		err = pollUntil(ctx, time.Minute, 100*time.Millisecond, func() bool {
			_, err := pods.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	}
	if err != nil {
		return fmt.Errorf("pod %s and its VM to go: %w", name, err)
	}
	return nil
}

// waitNodeReady waits until the node is registered and Ready.
func waitNodeReady(ctx context.Context, cs kubernetes.Interface, name string, limit time.Duration) error {
	err := pollUntil(ctx, limit, 100*time.Millisecond, func() bool {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("node %s to register and be Ready: %w", name, err)
	}
	return nil
}

func describePod(p *corev1.Pod) string {
	if p == nil {
		return "no event"
	}
	s := fmt.Sprintf("node %q, phase %s", p.Spec.NodeName, p.Status.Phase)
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			s += fmt.Sprintf("; %s: %s", c.Type, c.Message)
		}
	}
	return s
}
