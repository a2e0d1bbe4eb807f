package vmmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"banger/internal/agent/agentproto"
	"banger/internal/vmm"
)

// Result is what a stand-in command writes and the status it exits with.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// standIn is the only program a fake guest runs: it writes what it is
// given and exits with the given status.
const standIn = `printf '%s' "$VMMTEST_STDOUT"; printf '%s' "$VMMTEST_STDERR" >&2; exit "$VMMTEST_CODE"`

// hooks are what the agent of one boot's guest calls back: the Driver,
// the VM's record and the guest's temp dir, nothing of the machine the
// test runs on. d.mu is not held when they are called.
type hooks struct {
	d *Driver
	v *vm
	g *guest
}

// command is the agent's Options.Command: it records argv and runs a
// stand-in that gives the command's Result.
func (h hooks) command(spec agentproto.ExecSpec) (agentproto.ExecSpec, error) {
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	if err := h.d.failure("Exec"); err != nil {
		return agentproto.ExecSpec{}, err
	}
	h.v.execs = append(h.v.execs, slices.Clone(spec.Argv))
	r := h.d.resultOf(spec.Argv)
	return agentproto.ExecSpec{
		Argv: []string{"/bin/sh", "-c", standIn},
		Env:  []string{"VMMTEST_STDOUT=" + r.Stdout, "VMMTEST_STDERR=" + r.Stderr, "VMMTEST_CODE=" + strconv.Itoa(r.Code)},
		Dir:  h.g.dir,
		TTY:  spec.TTY, Term: spec.Term, Size: spec.Size,
	}, nil
}

// resultOf is what argv gives: what SetCommand set for its program's
// base name, else echo's arguments, true's 0 and false's 1, else
// nothing and status 0. d.mu is held.
func (d *Driver) resultOf(argv []string) Result {
	if len(argv) == 0 {
		return Result{}
	}
	name := filepath.Base(argv[0])
	if r, ok := d.cmds[name]; ok {
		return r
	}
	switch name {
	case "echo":
		return Result{Stdout: strings.Join(argv[1:], " ") + "\n"}
	case "false":
		return Result{Code: 1}
	}
	return Result{}
}

// identify is the agent's Options.Identify: the guest takes the name,
// a new boot id and, in what it reports, the address.
func (h hooks) identify(id agentproto.Identity) error {
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	h.v.identities = append(h.v.identities, id)
	if err := h.d.failure("Identify"); err != nil {
		return err
	}
	if id.Hostname != "" {
		h.v.hostname = id.Hostname
	}
	h.v.bootID = newBootID()
	return h.g.writeProc(h.v.bootID)
}

// poweroff is the agent's Options.Poweroff: the VMM exits.
func (h hooks) poweroff() {
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	if h.v.guest == h.g {
		appendConsole(h.v.spec, "vmmtest: the guest powered off\n")
		h.d.setState(h.v, vmm.StateStopped)
	}
}

// hostname is the agent's Options.Hostname: the name the guest has now.
func (h hooks) hostname() string {
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	return h.v.hostname
}

// setReady makes g's guest ready or not. d.mu is held.
func (g *guest) setReady(ready bool) error {
	if ready {
		if err := os.Remove(g.sshd); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	if err := os.WriteFile(g.sshd, []byte("#!/bin/false\n"), 0o755); err != nil {
		return fmt.Errorf("making the guest not ready: %w", err)
	}
	return nil
}
