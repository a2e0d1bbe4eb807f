package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"banger/internal/api"
	"banger/internal/ctxtime"
	"banger/internal/errdefs"
)

// ociConfigPath is where banger's OCI flattening leaves the image's run
// configuration in the guest (oci.ConfigPath; a test holds them equal).
const ociConfigPath = "/etc/banger/oci-config.json"

// adoptedVM is a pod's VM that a restarted kubelet found running.
type adoptedVM struct {
	vm      api.VM
	session *api.Session // the command's session; nil when there is none
}

// command is what the pod's session runs.
type command struct {
	Argv, Env []string
	Dir       string
}

// run brings a pod's VM up, runs its command, and runs it again as its
// restart policy says, until the command is done for good or ctx ends.
func (p *Provider) run(ctx context.Context, r *podRun, adopted *adoptedVM) {
	var vm api.VM
	var s *api.Session
	if adopted != nil {
		vm, s = adopted.vm, adopted.session
		// A VM left before its command started may lack its files too.
		if s == nil && !p.prepare(ctx, r, vm) {
			return
		}
	} else {
		var ok bool
		if vm, ok = p.boot(ctx, r); !ok {
			return
		}
	}
	cmd, ok := p.command(ctx, r, vm)
	if !ok {
		return
	}
	for restarts := 0; ; restarts++ {
		if s == nil {
			if s, ok = p.startCommand(ctx, r, vm, cmd); !ok {
				return
			}
		}
		p.update(r, func(st *corev1.PodStatus) { setRunning(st, vm, s.Started) })
		end, ok := p.wait(ctx, r, vm, *s)
		if !ok || !p.ended(ctx, r, vm, end) {
			return
		}
		s = nil
		if !ctxtime.Sleep(ctx, backoff(p.cfg.RestartDelay, restarts)) {
			return
		}
	}
}

// boot pulls the pod's image and makes its VM with the pod's files in.
func (p *Provider) boot(ctx context.Context, r *podRun) (api.VM, bool) {
	image, ok := p.image(ctx, r)
	if !ok {
		return api.VM{}, false
	}
	req := r.plan.VM
	req.Image = image
	p.event(r, corev1.EventTypeNormal, "Booting", fmt.Sprintf("booting VM %s from image %s", req.Name, image))
	vm, err := p.cfg.Daemon.CreateVM(ctx, req, nil)
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		vm, err = p.cfg.Daemon.GetVM(ctx, req.Name)
	}
	if err != nil {
		return api.VM{}, p.fail(ctx, r, reasonVMFailed, fmt.Sprintf("creating VM %s: %v", req.Name, err))
	}
	p.event(r, corev1.EventTypeNormal, "Booted", fmt.Sprintf("VM %s runs at %s", vm.Name, vm.IP))
	return vm, p.prepare(ctx, r, vm)
}

// prepare puts the pod's volumes in its VM: the files, and the emptyDir
// mount points. Doing it again does no harm.
func (p *Provider) prepare(ctx context.Context, r *podRun, vm api.VM) bool {
	if err := p.writeFiles(ctx, r, vm.Name); err != nil {
		return p.fail(ctx, r, reasonVMFailed, err.Error())
	}
	if len(r.plan.Dirs) > 0 {
		argv := append([]string{"mkdir", "-p", "--"}, r.plan.Dirs...)
		if err := p.guest().execQuiet(ctx, vm.Name, argv); err != nil {
			return p.fail(ctx, r, reasonVMFailed, fmt.Sprintf("making the emptyDir mount points: %v", err))
		}
	}
	return true
}

// writeFiles puts the pod's volume files in its VM, asking for the
// service account tokens they hold now.
func (p *Provider) writeFiles(ctx context.Context, r *podRun, vm string) error {
	for _, f := range r.plan.Files {
		if f.Token != nil {
			tok, err := p.cfg.Volumes.Token(ctx, *f.Token, r.pod)
			if err != nil {
				return fmt.Errorf("requesting a token of service account %s for %s: %w", f.Token.ServiceAccount, f.Path, err)
			}
			f.Data = []byte(tok)
		}
		mode := f.Mode
		if err := p.cfg.Daemon.WriteFile(ctx, vm, api.WriteFileRequest{Path: f.Path, Mode: &mode}, f.Data); err != nil {
			return fmt.Errorf("writing the volume file %s: %w", f.Path, err)
		}
	}
	return nil
}

// command works out the pod's argv, environment and directory, with
// what its OCI image says for what the pod does not.
func (p *Provider) command(ctx context.Context, r *podRun, vm api.VM) (command, bool) {
	var img imageConfig
	if r.plan.OCI != "" {
		b, err := p.cfg.Daemon.ReadFile(ctx, vm.Name, ociConfigPath, 1<<20)
		if err == nil {
			err = json.Unmarshal(b, &img)
		}
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return command{}, p.fail(ctx, r, reasonVMFailed, fmt.Sprintf("reading the image's configuration: %v", err))
		}
	}
	argv, err := argv(r.plan.Command, r.plan.Args, img)
	if err != nil {
		return command{}, p.fail(ctx, r, ReasonUnsupported, err.Error())
	}
	dir := r.plan.Dir
	if dir == "" {
		dir = img.WorkDir
	}
	return command{Argv: argv, Env: append(append([]string{}, img.Env...), r.plan.Env...), Dir: dir}, true
}

// startCommand starts the pod's session, forgetting an ended one first.
func (p *Provider) startCommand(ctx context.Context, r *podRun, vm api.VM, cmd command) (*api.Session, bool) {
	if _, err := p.cfg.Daemon.KillSession(ctx, vm.Name, sessionName, "KILL"); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		p.cfg.Log.Warn("forgetting the last session", "vm", vm.Name, "err", err)
	}
	s, err := p.cfg.Daemon.StartSession(ctx, vm.Name, api.StartSessionRequest{
		Name:        sessionName,
		ExecRequest: api.ExecRequest{Command: cmd.Argv, Env: cmd.Env, Dir: cmd.Dir},
	})
	if err != nil {
		return nil, p.fail(ctx, r, reasonVMFailed, fmt.Sprintf("starting the command: %v", err))
	}
	p.event(r, corev1.EventTypeNormal, "Started", "started the command in VM "+vm.Name)
	return &s, true
}

// sessionEnd is how a pod's command ended.
type sessionEnd struct {
	exit            api.ExitStatus
	started, ended  time.Time
	reason, message string
}

// wait watches the pod's session until it ends; false when ctx ended
// first. Errors reaching bangerd (a restart) are waited out.
func (p *Provider) wait(ctx context.Context, r *podRun, vm api.VM, s api.Session) (sessionEnd, bool) {
	t := time.NewTicker(p.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return sessionEnd{}, false
		case <-t.C:
		}
		if d, ok := deadline(r.pod); ok && time.Now().After(d) {
			return p.overtime(ctx, r, vm, s), true
		}
		end, done, err := p.look(ctx, vm, s)
		if err != nil {
			p.cfg.Log.Warn("looking at a pod's command", "vm", vm.Name, "err", err)
			continue
		}
		if done {
			return end, true
		}
	}
}

// look checks once whether the session ended, or its VM is gone.
func (p *Provider) look(ctx context.Context, vm api.VM, s api.Session) (sessionEnd, bool, error) {
	sessions, err := p.cfg.Daemon.ListSessions(ctx, vm.Name)
	if err == nil {
		for _, cur := range sessions {
			if cur.Name == sessionName && cur.State == api.SessionExited && cur.Exit != nil {
				return sessionEnd{exit: *cur.Exit, started: cur.Started, ended: cur.Ended}, true, nil
			}
			if cur.Name == sessionName {
				return sessionEnd{}, false, nil
			}
		}
	}
	got, vmErr := p.cfg.Daemon.GetVM(ctx, vm.Name)
	switch {
	case errors.Is(vmErr, errdefs.ErrNotFound), vmErr == nil && got.State != "running":
		return sessionEnd{exit: api.ExitStatus{Code: 137}, started: s.Started, ended: time.Now(),
			reason: reasonVMGone, message: "the pod's VM " + vm.Name + " stopped or was deleted outside Kubernetes"}, true, nil
	case vmErr != nil:
		return sessionEnd{}, false, vmErr
	}
	return sessionEnd{}, false, err
}

// ended records a command's end. It reports whether the command runs
// again; when not, the pod is done: its output is kept and its VM deleted.
func (p *Provider) ended(ctx context.Context, r *podRun, vm api.VM, end sessionEnd) bool {
	t := terminated(vm.Name, end.exit, end.started, end.ended, end.reason, end.message)
	if end.reason != reasonVMGone && end.reason != reasonDeadline && restarts(r.pod.Spec.RestartPolicy, end.exit) {
		p.event(r, corev1.EventTypeWarning, "BackOff", fmt.Sprintf("the command exited with %d; restarting it", end.exit.Code))
		p.update(r, func(st *corev1.PodStatus) { setRestarting(st, t, "the command exited with "+fmt.Sprint(end.exit.Code)) })
		return true
	}
	p.release(ctx, r, vm.Name)
	p.event(r, corev1.EventTypeNormal, "Completed", fmt.Sprintf("the command exited with %d; VM %s deleted", end.exit.Code, vm.Name))
	p.update(r, func(st *corev1.PodStatus) {
		setFinished(st, t)
		if end.reason == reasonDeadline {
			st.Phase, st.Reason, st.Message = corev1.PodFailed, reasonDeadline, end.message
		}
	})
	return false
}

// deadline is when the pod's activeDeadlineSeconds runs out.
func deadline(pod *corev1.Pod) (time.Time, bool) {
	ads, start := pod.Spec.ActiveDeadlineSeconds, pod.Status.StartTime
	if ads == nil || start == nil {
		return time.Time{}, false
	}
	return start.Add(time.Duration(*ads) * time.Second), true
}

// overtime stops a command whose pod outlived its activeDeadlineSeconds,
// as a deletion would.
func (p *Provider) overtime(ctx context.Context, r *podRun, vm api.VM, s api.Session) sessionEnd {
	grace := 30 * time.Second
	if g := r.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	p.event(r, corev1.EventTypeNormal, reasonDeadline, "the pod ran past its activeDeadlineSeconds; stopping it")
	exit := p.guest().stop(ctx, vm.Name, grace)
	if exit == nil {
		exit = &api.ExitStatus{Code: 137, Signal: "KILL"}
	}
	return sessionEnd{exit: *exit, started: s.Started, ended: time.Now(), reason: reasonDeadline,
		message: fmt.Sprintf("the pod was active longer than its activeDeadlineSeconds (%d)", *r.pod.Spec.ActiveDeadlineSeconds)}
}

// fail ends the pod with reason before its command could run, deleting
// its VM; it returns false for its callers to return.
func (p *Provider) fail(ctx context.Context, r *podRun, reason, msg string) bool {
	if ctx.Err() != nil {
		return false // deleted meanwhile: teardown reports
	}
	p.release(ctx, r, r.vm)
	p.event(r, corev1.EventTypeWarning, reason, msg)
	p.update(r, func(st *corev1.PodStatus) { setPodFailed(st, reason, msg) })
	return false
}

// release keeps the session's output and deletes the VM.
func (p *Provider) release(ctx context.Context, r *podRun, vm string) {
	p.kept().keep(ctx, r.pod, vm)
	if err := p.cfg.Daemon.DeleteVM(ctx, vm); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		p.cfg.Log.Warn("deleting a finished pod's VM", "vm", vm, "err", err)
	}
}

// backoff is the wait before the n-th restart: base doubled each time,
// at most five minutes.
func backoff(base time.Duration, n int) time.Duration {
	if base == 0 {
		base = 10 * time.Second
	}
	d := base << min(n, 10)
	return min(d, 5*time.Minute)
}
