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
	"k8s.io/client-go/kubernetes"

	"banger/internal/config"
	"banger/internal/doctor"
	"banger/internal/kubelet"
	"banger/test/internal/kubecp"
)

// benchNode is the name the bench's kubelet registers.
const benchNode = "bench"

// kubeletBench is the kubelet's figure, on the VM figures' daemon.
type kubeletBench struct{ b *vmBench }

// measureUnlessSkipped is measure unless BENCH_KUBELET=0.
func (k kubeletBench) measureUnlessSkipped(warm samples) ([]oneShot, error) {
	if os.Getenv("BENCH_KUBELET") == "0" {
		return []oneShot{{name: "kubelet pod created to Running, warm", value: "skipped (BENCH_KUBELET=0)"}}, nil
	}
	return k.measure(warm)
}

// measure times pods from their creation to Running on a banger node,
// through a real control plane (package kubecp: etcd, kube-apiserver and
// kube-scheduler in the bench's namespace): the apiserver stores the pod,
// kube-scheduler binds it to the node by its toleration, and the kubelet
// (its provider, in this process, against the bench's daemon) restores
// its VM from the warm template. It is set beside `vm run --rm -- true`
// warm from the rows above.
func (k kubeletBench) measure(warm samples) ([]oneShot, error) {
	cp, err := k.startControlPlane()
	if err != nil {
		return nil, err
	}
	defer cp.Stop()
	logPath := filepath.Join(cp.Dir, "banger-kubelet.log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	rows, err := k.measureOn(cp, slog.New(slog.NewTextHandler(log, nil)), warm)
	if err != nil {
		return nil, fmt.Errorf("kubelet figure: %w\n%skubelet's log ends with:\n%s", err, cp.Logs(20), kubecp.LogTail(logPath, 20))
	}
	return rows, nil
}

// startControlPlane runs the control plane in the bench's namespace, its
// binaries from BANGER_BENCH_CACHE/kube when that is set (the layout of
// the tests' cache, so a CI cache serves both), else from the tests'.
func (k kubeletBench) startControlPlane() (*kubecp.ControlPlane, error) {
	b := k.b
	cache, err := kubecp.CacheDir(os.Getenv("BANGER_BENCH_CACHE"))
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.work, "kubecp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b.logf("kubelet: starting the Kubernetes %s control plane (binaries from %s)", kubecp.Version, cache)
	began := time.Now()
	cp, err := kubecp.Run(b.ctx, kubecp.Options{NS: b.ns.name, Dir: dir, Cache: cache})
	if err != nil {
		return nil, err
	}
	b.logf("kubelet: control plane ready after %s", secs(time.Since(began)))
	return cp, nil
}

// measureOn runs the kubelet against cp and times b.rounds pods.
func (k kubeletBench) measureOn(cp *kubecp.ControlPlane, log *slog.Logger, warm samples) ([]oneShot, error) {
	b := k.b
	// Two clients, so that the bench's watches and polls do not spend
	// the kubelet's request budget.
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return nil, fmt.Errorf("a client for the apiserver: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return nil, fmt.Errorf("a client for the apiserver: %w", err)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	opts, err := k.options(kube, log)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- kubelet.Serve(ctx, opts) }()
	defer func() { cancel(); <-done }()
	if err := waitNodeReady(ctx, cs, benchNode, 2*time.Minute); err != nil {
		return nil, err
	}
	var pods, bound samples
	for r := 0; r < b.rounds; r++ {
		b.logf("kubelet pod bench-%d, warm, placed by kube-scheduler", r)
		t, err := k.podToRunning(ctx, cs, fmt.Sprintf("bench-%d", r))
		if err != nil {
			return nil, err
		}
		pods, bound = append(pods, t.running), append(bound, t.bound)
	}
	return []oneShot{
		{name: "kubelet pod created to Running, warm (apiserver, scheduler, kubelet)", value: pods.String()},
		{name: "  of which created to bound by kube-scheduler", value: bound.String()},
		{name: "baseline: vm run --rm -- true, warm (from the rows above)", value: warm.String()},
		ratioRow("kubelet pod to Running / vm run --rm -- true, warm", pods, warm, 1.3),
	}, nil
}

// options are the kubelet's, as `banger kubelet` would set them on this
// host, with doctor's checks left out: the node is Ready from the start.
func (k kubeletBench) options(cs kubernetes.Interface, log *slog.Logger) (kubelet.Options, error) {
	cfg, err := config.Load(filepath.Join(envValue(k.b.env, "XDG_CONFIG_HOME"), "banger", "config.toml"))
	if err != nil {
		return kubelet.Options{}, err
	}
	d := config.ResolveVMDefaults(cfg.VMDefaults, config.DetectHost())
	now := metav1.Now()
	return kubelet.Options{
		Kube: cs, Daemon: kubelet.Client{C: k.b.api},
		Spec: kubelet.NodeSpec{Name: benchNode, IP: "127.0.0.1", Port: 10250, Driver: "qemu", Accel: "tcg",
			Host: kubelet.Host{CPUs: 4, MemoryBytes: 8 << 30, DiskBytes: 50 << 30}, Reserve: kubelet.Reserve{Pods: 4},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
				Reason: "BenchReady", Message: "the bench runs no doctor", LastHeartbeatTime: now, LastTransitionTime: now}}},
		Sizes:  kubelet.Sizes{VCPU: d.VCPU.V, MemoryMiB: d.MemoryMiB.V, DiskBytes: int64(d.DiskSize.V)},
		Doctor: func(context.Context) ([]doctor.Result, error) { return nil, nil }, DoctorEvery: time.Hour,
		// No TLS: the kubelet API (logs, exec) is not served, and the
		// address is only checked.
		Listen: "127.0.0.1:10250", Log: log,
	}, nil
}

// pollUntil checks cond every interval and returns when it first held.
func pollUntil(ctx context.Context, limit, every time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	return nil
}
