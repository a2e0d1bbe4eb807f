package kubelet

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"

	"banger/internal/api"
	"banger/internal/ctxtime"
	"banger/internal/errdefs"
)

// teardown stops a deleted pod: its loop, then its command (TERM, KILL
// once grace has passed), then its VM; then it reports the pod done and
// removes it from the cluster.
func (p *Provider) teardown(r *podRun, grace time.Duration) {
	if r.cancel != nil {
		r.cancel()
	}
	<-r.done
	ctx, cancel := context.WithTimeout(context.Background(), grace+time.Minute)
	defer cancel()
	st := p.status(r)
	var exit *api.ExitStatus
	if st.Phase != corev1.PodSucceeded && st.Phase != corev1.PodFailed {
		p.event(r, corev1.EventTypeNormal, "Killing", "stopping the command and deleting VM "+r.vm)
		exit = p.guest().stop(ctx, r.vm, grace)
		p.release(ctx, r, r.vm)
	}
	p.update(r, func(st *corev1.PodStatus) {
		c := container(st)
		if st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
			return
		}
		started := time.Now()
		if c.State.Running != nil {
			started = c.State.Running.StartedAt.Time
		}
		e := api.ExitStatus{Code: 137, Signal: "KILL"}
		if exit != nil {
			e = *exit
		}
		setFinished(st, terminated(r.vm, e, started, time.Now(), "", "the pod was deleted"))
	})
	p.forget(r)
	p.kept().drop(r.pod)
	if p.cfg.Remove != nil {
		if err := p.cfg.Remove(ctx, r.pod); err != nil {
			p.cfg.Log.Warn("removing a deleted pod from the cluster", "pod", r.pod.Namespace+"/"+r.pod.Name, "err", err)
		}
	}
}

// guest reaches the pods' VMs through bangerd.
type guest struct {
	d    Daemon
	poll time.Duration
}

func (p *Provider) guest() guest { return guest{d: p.cfg.Daemon, poll: p.cfg.Poll} }

// stop ends the session: TERM, then KILL after grace. It returns how the
// command ended, nil when it never ran or the VM did not say.
func (g guest) stop(ctx context.Context, vm string, grace time.Duration) *api.ExitStatus {
	s, err := g.d.KillSession(ctx, vm, sessionName, "TERM")
	if err != nil {
		return nil
	}
	deadline := time.Now().Add(grace)
	for s.State != api.SessionExited && time.Now().Before(deadline) {
		if !ctxtime.Sleep(ctx, min(g.poll, time.Until(deadline))) {
			return nil
		}
		if s, err = g.session(ctx, vm); err != nil {
			return nil
		}
	}
	if s.State != api.SessionExited {
		if _, err := g.d.KillSession(ctx, vm, sessionName, "KILL"); err != nil {
			return nil
		}
		return &api.ExitStatus{Code: 137, Signal: "KILL"}
	}
	return s.Exit
}

// session is the pod's session in vm.
func (g guest) session(ctx context.Context, vm string) (api.Session, error) {
	sessions, err := g.d.ListSessions(ctx, vm)
	if err != nil {
		return api.Session{}, err
	}
	for _, s := range sessions {
		if s.Name == sessionName {
			return s, nil
		}
	}
	return api.Session{}, errdefs.NotFound("no session %s in VM %s", sessionName, vm)
}

// execQuiet runs argv in vm and waits for it to succeed.
func (g guest) execQuiet(ctx context.Context, vm string, argv []string) error {
	proc, err := g.d.Exec(ctx, vm, api.ExecRequest{Command: argv})
	if err != nil {
		return err
	}
	defer proc.Close()
	if err := proc.CloseStdin(); err != nil {
		return err
	}
	var stderr []byte
	for {
		o, err := proc.Next()
		switch {
		case err != nil:
			return err
		case o.Stderr != nil && len(stderr) < 4096:
			stderr = append(stderr, o.Stderr...)
		case o.Exit != nil && o.Exit.Code != 0:
			return errors.New(string(stderr))
		case o.Exit != nil:
			return nil
		}
	}
}
