package qemu

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"banger/internal/vmm"
)

func startFakeQMP(t *testing.T) (*fakeQMP, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qmp.sock")
	srv, err := listenFakeQMP(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, path
}

func TestQMPClient(t *testing.T) {
	srv, path := startFakeQMP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := dialQMP(ctx, path)
	if err != nil {
		t.Fatalf("dialQMP: %v", err)
	}
	defer c.Close()
	for _, step := range []struct{ command, wantStatus string }{
		{"", "running"}, {"stop", "paused"}, {"cont", "running"},
	} {
		if step.command != "" {
			if _, err := c.execute(ctx, step.command); err != nil {
				t.Fatalf("%s: %v", step.command, err)
			}
		}
		status, err := c.queryStatus(ctx)
		if err != nil || status != step.wantStatus {
			t.Errorf("after %q: queryStatus = %q, %v; want %q", step.command, status, err, step.wantStatus)
		}
	}
	if _, err := c.execute(ctx, "system_powerdown"); err != nil {
		t.Errorf("system_powerdown: %v", err)
	}
	want := []string{"qmp_capabilities", "query-status", "stop", "query-status", "cont", "query-status", "system_powerdown"}
	if got := srv.received(); !slices.Equal(got, want) {
		t.Errorf("server received %q, want %q", got, want)
	}
}

func TestQMPClientCommandError(t *testing.T) {
	_, path := startFakeQMP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := qmpCommand(ctx, path, "no-such-command")
	var qerr *qmpError
	if !errors.As(err, &qerr) || qerr.Class != "CommandNotFound" {
		t.Errorf("unknown command: err = %v, want a CommandNotFound qmpError", err)
	}
}

func TestQMPClientNoServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "qmp.sock")
	if _, err := qmpStatus(ctx, path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("qmpStatus without a server: err = %v, want one naming %s", err, path)
	}
}

// A server that accepts but never greets must not hang the client past
// its context's deadline.
func TestQMPClientHonoursDeadline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qmp.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = dialQMP(ctx, path)
	if err == nil {
		t.Fatal("dialQMP to a silent server succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("dialQMP took %v despite a 200ms deadline", d)
	}
}

// Cancelling a context without a deadline also unblocks a read.
func TestQMPClientHonoursCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qmp.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			conn.Write([]byte(`{"QMP": {"version": {}, "capabilities": []}}` + "\n" + `{"return": {}}` + "\n"))
			accepted <- conn
		}
	}()
	c, err := dialQMP(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer func() { (<-accepted).Close() }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.execute(ctx, "query-status")
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("execute after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("execute did not return after its context was cancelled")
	}
}

// Resuming a guest whose save is still under way cancels the save first,
// or its completion would pause the guest again; a finished save is left
// alone.
func TestResumeCancelsASaveUnderWay(t *testing.T) {
	for _, migration := range []string{"active", "completed", ""} {
		dir := t.TempDir()
		srv, err := listenFakeQMP(filepath.Join(dir, qmpSocketName))
		if err != nil {
			t.Fatal(err)
		}
		srv.status, srv.migration = "paused", migration
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = (&Driver{}).Resume(ctx, vmm.Spec{Name: "box", RunDir: dir})
		cancel()
		srv.Close()
		if err != nil {
			t.Fatalf("migration %q: Resume: %v", migration, err)
		}
		got := srv.received()
		if canceled := slices.Contains(got, "migrate_cancel"); canceled != (migration == "active") {
			t.Errorf("migration %q: commands %q", migration, got)
		}
		if got[len(got)-1] != "cont" || srv.status != "running" {
			t.Errorf("migration %q: commands %q, status %s; want the guest running", migration, got, srv.status)
		}
	}
}
