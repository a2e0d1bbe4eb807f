package web

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// op is a long operation on one VM (create, start, stop, restart) or one
// image (pull) that runs in the background, so the page can show it as
// pending and follow its progress.
// It runs under the daemon's context, not the request's: closing the tab
// does not cancel a create.
type op struct {
	Name    string // the VM's or the image's
	Kind    string // create, start, stop, restart or pull
	Step    string // the latest step, e.g. "waiting for the guest (tcg)"
	Detail  string // a note or a byte count within the step
	Steps   []string
	Err     string
	Done    bool
	Started time.Time
	Ended   time.Time
}

// Pending reports whether the operation still runs.
func (o op) Pending() bool { return !o.Done }

// maxSteps bounds the steps an operation remembers.
const maxSteps = 20

// keepDone is how long a finished operation stays on the VM's page.
const keepDone = 10 * time.Minute

// ops holds the latest operation of each VM, or of each image.
type ops struct {
	noun string          // what the names name: "VM" or "image"
	base context.Context // the daemon's lifetime
	mu   sync.Mutex
	m    map[string]*op
	wg   sync.WaitGroup
}

func newOps(noun string) *ops {
	return &ops{noun: noun, base: context.Background(), m: map[string]*op{}}
}

// get returns a copy of the VM's latest operation, if one is recent.
func (o *ops) get(vm string) (op, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.m[vm]
	if !ok {
		return op{}, false
	}
	if p.Done && time.Since(p.Ended) > keepDone {
		delete(o.m, vm)
		return op{}, false
	}
	return p.copy(), true
}

func (p *op) copy() op {
	cp := *p
	cp.Steps = slices.Clone(p.Steps)
	return cp
}

// list returns copies of the recent operations, by name.
func (o *ops) list() []op {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]op, 0, len(o.m))
	for name, p := range o.m {
		if p.Done && time.Since(p.Ended) > keepDone {
			delete(o.m, name)
			continue
		}
		out = append(out, p.copy())
	}
	slices.SortFunc(out, func(a, b op) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// pendingNames lists the VMs with an operation still running, with its
// kind; a create shows here before its VM is in the store.
func (o *ops) pendingNames() map[string]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]string{}
	for name, p := range o.m {
		if !p.Done {
			out[name] = p.Kind
		}
	}
	return out
}

// run starts work for vm (or an image) in the background, refusing when
// it already has an operation running.
func (o *ops) run(vm, kind string, work func(ctx context.Context, prog progress.Func) error) error {
	o.mu.Lock()
	if p, ok := o.m[vm]; ok && !p.Done {
		o.mu.Unlock()
		return errdefs.FailedPrecondition("%s %s is busy: its %s is still running; wait for it to finish", o.noun, vm, p.Kind)
	}
	p := &op{Name: vm, Kind: kind, Started: time.Now()}
	o.m[vm] = p
	o.wg.Add(1)
	o.mu.Unlock()
	prog := progress.Func(func(e progress.Event) { o.report(p, e) })
	go func() {
		defer o.wg.Done()
		err := work(o.base, prog)
		o.mu.Lock()
		defer o.mu.Unlock()
		p.Done, p.Ended = true, time.Now()
		if err != nil {
			p.Err = err.Error()
		}
	}()
	return nil
}

func (o *ops) report(p *op, e progress.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e.Step != "" && e.Step != p.Step {
		p.Step, p.Detail = e.Step, ""
		p.Steps = append(p.Steps, e.Step)
		if len(p.Steps) > maxSteps {
			p.Steps = p.Steps[len(p.Steps)-maxSteps:]
		}
	}
	switch {
	case e.Message != "":
		p.Detail = e.Message
	case e.Total > 0:
		p.Detail = fmt.Sprintf("%s of %s", bytesString(e.Done), bytesString(e.Total))
	case e.Done > 0:
		p.Detail = bytesString(e.Done)
	}
}

// wait waits for running operations until ctx is done.
func (o *ops) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { o.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// bytesString formats a byte count with a binary unit, e.g. "1.5 GiB".
func bytesString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// forget drops a finished operation, once its VM is gone.
func (o *ops) forget(vm string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p, ok := o.m[vm]; ok && p.Done {
		delete(o.m, vm)
	}
}
