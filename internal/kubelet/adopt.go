package kubelet

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"banger/internal/api"
	"banger/internal/errdefs"
)

// PodGetter finds a pod in the cluster; a missing one is a Kubernetes
// not-found error.
type PodGetter func(ctx context.Context, namespace, name string) (*corev1.Pod, error)

// Adopt finds the VMs this node's pods left running (a restarted
// kubelet) by their labels. VMs whose pod is gone, replaced, finished or
// being deleted are deleted; the others wait for virtual-kubelet to hand
// their pods over (CreatePod, with the pods' environment resolved), and
// are then watched again without restarting their commands. Call it
// before the pod controller runs.
func (p *Provider) Adopt(ctx context.Context, get PodGetter) error {
	vms, err := p.cfg.Daemon.ListVMs(ctx, LabelNode+"="+p.cfg.Node)
	if err != nil {
		return fmt.Errorf("listing this node's VMs: %w", err)
	}
	var errs []error
	for _, vm := range vms {
		if err := p.keepOrDelete(ctx, get, vm); err != nil {
			errs = append(errs, fmt.Errorf("VM %s: %w", vm.Name, err))
		}
	}
	return errors.Join(errs...)
}

// keepOrDelete keeps a VM whose pod still wants it, and deletes the
// others.
func (p *Provider) keepOrDelete(ctx context.Context, get PodGetter, vm api.VM) error {
	ns, name, uid := vm.Labels[LabelNamespace], vm.Labels[LabelPod], vm.Labels[LabelPodUID]
	pod, err := get(ctx, ns, name)
	switch {
	case apierrors.IsNotFound(err):
		pod = nil
	case err != nil:
		return fmt.Errorf("looking up pod %s/%s: %w", ns, name, err)
	}
	why := unwanted(pod, uid, vm)
	if why == "" {
		p.mu.Lock()
		p.left[pod.UID] = vm
		p.mu.Unlock()
		return nil
	}
	p.cfg.Log.Info("deleting a VM its pod no longer wants", "vm", vm.Name, "pod", ns+"/"+name, "why", why)
	if err := p.cfg.Daemon.DeleteVM(ctx, vm.Name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	if pod != nil && string(pod.UID) == uid && pod.DeletionTimestamp != nil && p.cfg.Remove != nil {
		// Deleted while no kubelet ran: nothing of it is left here.
		return p.cfg.Remove(ctx, pod)
	}
	return nil
}

// unwanted says why pod, as the cluster has it, no longer wants vm (made
// for the pod with uid); "" when it still does.
func unwanted(pod *corev1.Pod, uid string, vm api.VM) string {
	switch {
	case pod == nil:
		return "the pod is gone"
	case string(pod.UID) != uid:
		return "the pod was made again (uid " + string(pod.UID) + ")"
	case pod.DeletionTimestamp != nil:
		return "the pod is being deleted"
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return "the pod has " + string(pod.Status.Phase)
	case vm.State != "running":
		return "the VM is " + vm.State
	}
	return ""
}

// leftover takes the VM a previous kubelet left for pod uid, with its
// command's session; nil when there is none.
func (p *Provider) leftover(ctx context.Context, uid types.UID) *adoptedVM {
	p.mu.Lock()
	vm, ok := p.left[uid]
	delete(p.left, uid)
	p.mu.Unlock()
	if !ok {
		return nil
	}
	a := &adoptedVM{vm: vm}
	if s, err := p.guest().session(ctx, vm.Name); err == nil {
		a.session = &s
	}
	return a
}
