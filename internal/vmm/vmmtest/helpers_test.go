package vmmtest

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/vmm"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// shortCtx is for waits that are meant to run out.
func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

func newSpec(t *testing.T, name string) vmm.Spec {
	dir := t.TempDir()
	return vmm.Spec{Name: name, VCPU: 1, MemoryMiB: 256, RunDir: dir, AgentSocket: filepath.Join(dir, "agent.sock")}
}

// started returns a driver with one VM started.
func started(t *testing.T, name string) (*Driver, vmm.Spec) {
	t.Helper()
	d := New(t)
	spec := newSpec(t, name)
	if _, err := d.Start(testCtx(t), spec); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return d, spec
}

// mux opens a multiplexed connection to spec's agent.
func mux(t *testing.T, d *Driver, spec vmm.Spec) *agentclient.Mux {
	t.Helper()
	c, err := agentclient.Dial(testCtx(t), d.Endpoint(spec))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	m, err := agentclient.Upgrade(testCtx(t), c)
	if err != nil {
		c.Close()
		t.Fatalf("Upgrade: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// execOut runs argv in the guest and returns its output and status.
func execOut(t *testing.T, m *agentclient.Mux, argv ...string) (string, string, int) {
	t.Helper()
	ch, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: argv})
	if err != nil {
		t.Fatalf("Exec %q: %v", argv, err)
	}
	ch.CloseWrite()
	var out, errb bytes.Buffer
	code := -1
	for {
		ev, err := ch.Next(testCtx(t))
		if errors.Is(err, agentclient.ErrChannelEnded) {
			return out.String(), errb.String(), code
		}
		if err != nil {
			t.Fatalf("Exec %q: %v", argv, err)
		}
		out.Write(ev.Stdout)
		errb.Write(ev.Stderr)
		if ev.Exit != nil {
			code = ev.Exit.Code
		}
	}
}

// waitDone runs d.Wait in the background and returns its result channel.
func waitDone(t *testing.T, d *Driver, spec vmm.Spec) <-chan error {
	done := make(chan error, 1)
	go func() { done <- d.Wait(testCtx(t), spec) }()
	return done
}

func mustReturn(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return")
		return nil
	}
}
