package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"banger/internal/config"
	"banger/internal/doctor"
	"banger/internal/kubelet"
)

// kubeletBench is the kubelet's figure, on the VM figures' daemon.
type kubeletBench struct{ b *vmBench }

// measureUnlessSkipped is measure unless BENCH_KUBELET=0.
func (k kubeletBench) measureUnlessSkipped(warm samples) ([]oneShot, error) {
	if os.Getenv("BENCH_KUBELET") == "0" {
		return []oneShot{{name: "kubelet pod created to Running, warm", value: "skipped (BENCH_KUBELET=0)"}}, nil
	}
	return k.measure(warm)
}

// measure times a pod from its creation to Running on a banger
// node (the kubelet's provider against the bench's daemon, a client-go
// fake clientset for the cluster: no API server or scheduler in the
// figure), restored from the warm template, beside `vm run --rm -- true`
// warm from the rows above.
func (k kubeletBench) measure(warm samples) ([]oneShot, error) {
	b := k.b
	cfg, err := config.Load(filepath.Join(envValue(b.env, "XDG_CONFIG_HOME"), "banger", "config.toml"))
	if err != nil {
		return nil, err
	}
	d := config.ResolveVMDefaults(cfg.VMDefaults, config.DetectHost())
	cs := fake.NewClientset()
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- kubelet.Serve(ctx, kubelet.Options{
			Kube: cs, Daemon: kubelet.Client{C: b.api},
			Spec: kubelet.NodeSpec{Name: "bench", IP: "127.0.0.1", Port: 10250, Driver: "qemu", Accel: "tcg",
				Host: kubelet.Host{CPUs: 4, MemoryBytes: 8 << 30, DiskBytes: 50 << 30}, Reserve: kubelet.Reserve{Pods: 4}},
			Sizes:  kubelet.Sizes{VCPU: d.VCPU.V, MemoryMiB: d.MemoryMiB.V, DiskBytes: int64(d.DiskSize.V)},
			Doctor: func(context.Context) ([]doctor.Result, error) { return nil, nil }, DoctorEvery: time.Hour,
			Listen: ":10250", Log: slog.New(slog.DiscardHandler),
		})
	}()
	defer func() { cancel(); <-done }()
	var pods samples
	for r := 0; r < b.rounds; r++ {
		b.logf("kubelet pod bench-%d, warm", r)
		took, err := k.podToRunning(ctx, cs, fmt.Sprintf("bench-%d", r))
		if err != nil {
			return nil, err
		}
		pods = append(pods, took)
	}
	return []oneShot{
		{name: "kubelet pod created to Running, warm (fake cluster)", value: pods.String()},
		ratioRow("kubelet pod to Running / vm run --rm -- true, warm", pods, warm, 1.3),
	}, nil
}

// podToRunning creates a pod, times it to Running, then deletes it and
// waits for its VM to go.
func (k kubeletBench) podToRunning(ctx context.Context, cs *fake.Clientset, name string) (time.Duration, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", time.Now().UnixNano()%1e12)),
			Annotations: map[string]string{kubelet.AnnotationImage: goldenImage}},
		Spec: corev1.PodSpec{NodeName: "bench", RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "main", Image: goldenImage, Command: []string{"sleep", "infinity"}}}},
	}
	start := time.Now()
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	at, err := pollUntil(ctx, 5*time.Minute, func() bool {
		p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})
	if err != nil {
		return 0, fmt.Errorf("pod %s to Running: %w", name, err)
	}
	took := at.Sub(start)
	if err := cs.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return 0, err
	}
	_, err = pollUntil(ctx, time.Minute, func() bool {
		vms, err := k.b.api.ListVMs(ctx, kubelet.LabelPodUID+"="+string(pod.UID))
		return err == nil && len(vms) == 0
	})
	return took, err
}

// pollUntil checks cond every 10 ms and returns when it first held.
func pollUntil(ctx context.Context, limit time.Duration, cond func() bool) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("not within %s", limit)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return time.Now(), nil
}
