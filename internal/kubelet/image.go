package kubelet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"banger/internal/api"
	"banger/internal/ctxtime"
	"banger/internal/errdefs"
)

// image makes the pod's image available, trying again with a growing
// wait while pulling fails, as a kubelet does; false when ctx ended.
func (p *Provider) image(ctx context.Context, r *podRun) (string, bool) {
	for n := 0; ; n++ {
		name, err := p.resolveImage(ctx, r)
		if err == nil {
			return name, true
		}
		if ctx.Err() != nil {
			return "", false
		}
		msg := err.Error()
		p.event(r, corev1.EventTypeWarning, "Failed", msg)
		p.update(r, func(st *corev1.PodStatus) { setWaiting(st, reasonPullFailed, msg) })
		if !ctxtime.Sleep(ctx, backoff(p.cfg.RestartDelay, n)) {
			return "", false
		}
		p.update(r, func(st *corev1.PodStatus) { setWaiting(st, reasonCreating, "") })
	}
}

// resolveImage finds the pod's image among bangerd's, pulling it when it
// is missing. A pulled image stays: to pull a newer one under the same
// reference, remove it with `banger image rm`.
func (p *Provider) resolveImage(ctx context.Context, r *podRun) (string, error) {
	images, err := p.cfg.Daemon.ListImages(ctx)
	if err != nil {
		return "", fmt.Errorf("listing bangerd's images: %w", err)
	}
	want, ref := r.plan.VM.Image, r.plan.OCI
	if ref != "" {
		ref = "oci://" + strings.TrimPrefix(ref, "oci://")
	}
	if name, ok := findImage(images, want, ref); ok {
		return name, nil
	}
	what := ref
	if what == "" {
		what = want
	}
	p.event(r, corev1.EventTypeNormal, "Pulling", "pulling image "+what)
	im, err := p.cfg.Daemon.PullImage(ctx, what, nil)
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		// Another pod pulled it meanwhile, or another reference names it.
		if images, lerr := p.cfg.Daemon.ListImages(ctx); lerr == nil {
			if name, ok := findImage(images, want, ref); ok {
				return name, nil
			}
		}
	}
	if err != nil {
		return "", fmt.Errorf("pulling image %s: %w", what, err)
	}
	p.event(r, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("pulled image %s as %s", what, im.Name))
	return im.Name, nil
}

// findImage finds a banger image by name, or an OCI image by the
// reference it was pulled from.
func findImage(images []api.Image, name, ref string) (string, bool) {
	for _, im := range images {
		if (name != "" && im.Name == name) || (ref != "" && im.Source == ref) {
			return im.Name, true
		}
	}
	return "", false
}
