package vm

import (
	"context"
	"os"
	"path/filepath"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmm/consolelog"
)

// Guest is what a running VM's agent says about its guest.
type Guest struct {
	Hello  agentproto.Hello
	Status agentproto.Status
	// Streams is whether the agent serves exec and sessions.
	Streams bool
}

// Guest asks the agent about the guest: over the VM's link, or, for an
// agent too old for one, over a version 1 connection of its own.
func (m *Manager) Guest(ctx context.Context, name string) (Guest, error) {
	mux, err := m.Agent(ctx, name)
	if err == nil {
		st, err := mux.Status(ctx)
		if err != nil {
			return Guest{}, err
		}
		return Guest{Hello: mux.Hello(), Status: st, Streams: true}, nil
	}
	if !IsOldAgent(err) {
		return Guest{}, err
	}
	v, err := m.agents.running(ctx, name)
	if err != nil {
		return Guest{}, err
	}
	defer m.agents.dial.Lock(name)()
	c, err := m.agents.dialAgent(ctx, v)
	if err != nil {
		return Guest{}, err
	}
	defer c.Close()
	h, err := c.Hello(ctx)
	if err != nil {
		return Guest{}, err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return Guest{}, err
	}
	return Guest{Hello: h, Status: st}, nil
}

// SSHTarget is how ssh reaches a running VM.
type SSHTarget struct {
	User, Host, Key, KnownHosts, Alias string
}

// SSHTarget says how to ssh into running VM name, or why ssh cannot
// reach it and what to do instead.
func (m *Manager) SSHTarget(ctx context.Context, name string) (SSHTarget, error) {
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return SSHTarget{}, err
	}
	if v.State != StateRunning || v.IP == "" {
		return SSHTarget{}, errdefs.FailedPrecondition("VM %s is %s: start it with `banger vm start %s`", name, v.State, name)
	}
	if PolicyOf(v) == "none" {
		return SSHTarget{}, errdefs.FailedPrecondition("VM %s has network policy none, so ssh cannot reach it: use `banger vm exec %s`, or give it a network with `banger vm network %s internet`", name, name, name)
	}
	kh := m.layout.knownHosts(name)
	if _, err := os.Stat(kh); err != nil {
		return SSHTarget{}, errdefs.FailedPrecondition("VM %s has no known ssh host keys (its guest never reported ready, or its image has no sshd): see `banger vm logs %s`", name, name)
	}
	return SSHTarget{User: "root", Host: v.IP, Key: m.layout.sshKeyPath(), KnownHosts: kh, Alias: name}, nil
}

// ConsoleLog is where a VM's console log is and the size it rotates at.
type ConsoleLog struct {
	Path  string
	Limit int64
	VM    store.VM
}

// ConsoleLog says where VM name's console log is; the file does not exist
// until the VM first boots.
func (m *Manager) ConsoleLog(ctx context.Context, name string) (ConsoleLog, error) {
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return ConsoleLog{}, err
	}
	return ConsoleLog{Path: filepath.Join(m.layout.vmRunDir(v), consolelog.Name), Limit: m.layout.consoleLogLimit(), VM: v}, nil
}

// Restart stops VM name and boots it again.
func (m *Manager) Restart(ctx context.Context, name string, prog progress.Func) (store.VM, error) {
	prog.Step("stopping " + name)
	if _, err := m.Stop(ctx, name); err != nil {
		return store.VM{}, err
	}
	return m.Start(ctx, name, prog)
}

// UsersOf names the VMs and snapshots that rest on image or kernel, for
// the library to refuse removing them.
func (m *Manager) UsersOf(ctx context.Context, image, kernel string) ([]string, error) {
	vms, err := m.store.ListVMs(ctx)
	if err != nil {
		return nil, err
	}
	users := []string{}
	for _, v := range vms {
		if (image != "" && v.Image == image) || (kernel != "" && v.Kernel == kernel) {
			users = append(users, "vm "+v.Name)
		}
	}
	return append(users, m.snapshots.users(image, kernel)...), nil
}
