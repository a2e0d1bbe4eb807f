package vmm

import (
	"context"
	"fmt"
)

// PIDFile is how a driver finds its VMM process: the pid file the VMM
// writes in a VM's RunDir and the check that the process it names is that
// VMM, so that a recycled pid is never signalled.
type PIDFile struct {
	Path string
	Owns func(cmdline []string) bool
}

// Find returns the live process the pid file names, or ok false when there
// is none (see FindProcess).
func (f PIDFile) Find() (p Process, ok bool, err error) {
	return FindProcess(f.Path, f.Owns)
}

// Kill sends SIGKILL to VM vm's process, if it runs, and waits for it to
// go. Killing a stopped VM is not an error.
func (f PIDFile) Kill(ctx context.Context, vm string) error {
	p, ok, err := f.Find()
	if err != nil || !ok {
		return err
	}
	if err := Kill(ctx, p); err != nil {
		return fmt.Errorf("killing VM %s: %w", vm, err)
	}
	return nil
}

// Wait blocks until VM vm's process exits or ctx ends. Waiting for a
// stopped VM returns at once.
func (f PIDFile) Wait(ctx context.Context, vm string) error {
	p, ok, err := f.Find()
	if err != nil || !ok {
		return err
	}
	if err := WaitGone(ctx, p.PID); err != nil {
		return fmt.Errorf("waiting for VM %s: %w", vm, err)
	}
	return nil
}
