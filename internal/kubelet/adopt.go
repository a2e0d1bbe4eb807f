package kubelet

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"banger/internal/api"
	"banger/internal/errdefs"
)

// PodGetter finds a pod in the cluster; a missing one is a Kubernetes
// not-found error.
type PodGetter func(ctx context.Context, namespace, name string) (*corev1.Pod, error)

// Adopt finds the VMs this node's pods left running (a restarted
// kubelet) by their labels and watches them again, without restarting
// their commands. VMs whose pod is gone, replaced or finished are
// deleted. Call it before the pod controller runs.
func (p *Provider) Adopt(ctx context.Context, get PodGetter) error {
	vms, err := p.cfg.Daemon.ListVMs(ctx, LabelNode+"="+p.cfg.Node)
	if err != nil {
		return fmt.Errorf("listing this node's VMs: %w", err)
	}
	var errs []error
	for _, vm := range vms {
		if err := p.adopt(ctx, get, vm); err != nil {
			errs = append(errs, fmt.Errorf("VM %s: %w", vm.Name, err))
		}
	}
	return errors.Join(errs...)
}

// adopt takes one VM back, or deletes it when its pod is gone.
func (p *Provider) adopt(ctx context.Context, get PodGetter, vm api.VM) error {
	ns, name, uid := vm.Labels[LabelNamespace], vm.Labels[LabelPod], vm.Labels[LabelPodUID]
	pod, err := get(ctx, ns, name)
	switch {
	case apierrors.IsNotFound(err):
		pod = nil
	case err != nil:
		return fmt.Errorf("looking up pod %s/%s: %w", ns, name, err)
	}
	if pod == nil || string(pod.UID) != uid || pod.DeletionTimestamp != nil || vm.State != "running" ||
		pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || refuse(pod) != nil {
		p.cfg.Log.Info("deleting a VM whose pod is gone", "vm", vm.Name, "pod", ns+"/"+name)
		if err := p.cfg.Daemon.DeleteVM(ctx, vm.Name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
		return nil
	}
	pl, err := translate(pod, p.cfg.Node, p.cfg.Sizes, p.cfg.Volumes)
	if err != nil {
		return err
	}
	r := &podRun{pod: pod.DeepCopy(), vm: vm.Name, plan: pl, done: make(chan struct{})}
	if pod.Status.StartTime == nil {
		r.pod.Status = baseStatus(pod, p.cfg.HostIP, time.Now())
	}
	a := &adoptedVM{vm: vm}
	if s, err := p.guest().session(ctx, vm.Name); err == nil {
		a.session = &s
		setRunning(&r.pod.Status, vm, s.Started)
	}
	if !p.add(r) {
		return nil
	}
	p.cfg.Log.Info("adopted a running pod", "vm", vm.Name, "pod", ns+"/"+name)
	p.start(r, a)
	return nil
}
