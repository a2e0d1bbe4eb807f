package agent

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/agent/internal/connpair"
	"banger/internal/errdefs"
	"banger/internal/eventually"
)

// connect gives srv a new host connection, as a restarted daemon or a
// resumed guest makes, and returns its Mux.
func connect(t *testing.T, srv *Server) *agentclient.Mux {
	t.Helper()
	host, guestEnd := connpair.New(t)
	go srv.ServeConn(testCtx(t), guestEnd)
	m, err := agentclient.Upgrade(testCtx(t), agentclient.NewConn(host))
	if err != nil {
		t.Fatalf("Upgrade: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// gate is a file a test creates to let a script go on.
type gate string

func newGate(t *testing.T) gate { return gate(filepath.Join(t.TempDir(), "go")) }

// wait is the shell to wait for the gate.
func (g gate) wait() string { return `while [ ! -e ` + string(g) + ` ]; do sleep 0.02; done; ` }

func (g gate) open(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(string(g), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func keptExec(t *testing.T, m *agentclient.Mux, script string) *agentclient.Channel {
	t.Helper()
	ch, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"sh", "-c", script}, Keep: true, Tag: "t1"})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	return ch
}

// firstOut reads the channel's first event, which must be want on stdout.
func firstOut(t *testing.T, ch *agentclient.Channel, want string) {
	t.Helper()
	if ev, err := ch.Next(testCtx(t)); err != nil || string(ev.Stdout) != want {
		t.Fatalf("first event %+v, %v; want %q", ev, err, want)
	}
}

// listed is the kept process pid as exec-list says, nil when not listed.
func listed(t *testing.T, m *agentclient.Mux, pid int) *agentproto.ProcessInfo {
	t.Helper()
	all, err := m.ExecList(testCtx(t))
	if err != nil {
		t.Fatalf("ExecList: %v", err)
	}
	for _, p := range all {
		if p.PID == pid {
			return &p
		}
	}
	return nil
}

func attach(t *testing.T, m *agentclient.Mux, pid int) *agentclient.Channel {
	t.Helper()
	ch, info, err := m.ExecAttach(testCtx(t), pid)
	if err != nil || info.PID != pid {
		t.Fatalf("ExecAttach %d = %+v, %v", pid, info, err)
	}
	return ch
}

func TestKeptExecOutlivesItsAbandonedChannel(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	g := newGate(t)
	ch := keptExec(t, m, `echo up; `+g.wait()+`echo after; echo warn >&2; exit 5`)
	pid := ch.PID()
	firstOut(t, ch, "up\n")
	ch.Close()
	eventually.True(t, func() bool { p := listed(t, m, pid); return p != nil && !p.Attached })
	g.open(t)
	eventually.True(t, func() bool { p := listed(t, m, pid); return p != nil && !p.Running })
	p := listed(t, m, pid)
	if p.Exit == nil || p.Exit.Code != 5 || p.Tag != "t1" || p.Argv[0] != "sh" {
		t.Errorf("listed %+v; want exit 5, tag t1, argv sh...", p)
	}
	got := drain(t, attach(t, m, pid))
	if got.stdout != "after\n" || got.stderr != "warn\n" || got.exit == nil || got.exit.Code != 5 {
		t.Errorf("attached after the end: %+v, exit %v; want after, warn, exit 5", got, got.exit)
	}
	if p := listed(t, m, pid); p != nil {
		t.Errorf("after its exit was collected, exec-list still has %+v", p)
	}
	if _, _, err := m.ExecAttach(testCtx(t), pid); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("attach to a collected process = %v; want not found", err)
	}
}

func TestKeptExecOutlivesTheConnection(t *testing.T) {
	srv := NewServer(execOptions(t))
	m := connect(t, srv)
	ch := keptExec(t, m, `echo up; read x; echo "got $x"; read y; echo "and $y"`)
	pid := ch.PID()
	firstOut(t, ch, "up\n")
	m.Close() // the guest paused, or bangerd restarted

	m2 := connect(t, srv)
	eventually.True(t, func() bool { p := listed(t, m2, pid); return p != nil && !p.Attached })
	if p := listed(t, m2, pid); !p.Running {
		t.Fatalf("after the connection went, %+v; want it running", p)
	}
	ch2 := attach(t, m2, pid)
	io.WriteString(ch2, "one\n")
	firstOut(t, ch2, "got one\n")
	io.WriteString(ch2, "two\n")
	if got := drain(t, ch2); got.stdout != "and two\n" || got.exit == nil || got.exit.Code != 0 {
		t.Errorf("re-attached: %+v, exit %v", got, got.exit)
	}
}

func TestKeptOutputIsBoundedWhileDetached(t *testing.T) {
	opts := execOptions(t)
	opts.KeepBuffer = 1000
	m, _ := muxHost(t, opts)
	g := newGate(t)
	ch := keptExec(t, m, `echo up; `+g.wait()+`head -c 5000 /dev/zero | tr '\0' x; echo`)
	pid := ch.PID()
	firstOut(t, ch, "up\n")
	ch.Close()
	eventually.True(t, func() bool { p := listed(t, m, pid); return p != nil && !p.Attached })
	g.open(t)
	eventually.True(t, func() bool { return !listed(t, m, pid).Running })
	got := drain(t, attach(t, m, pid))
	note, rest, ok := strings.Cut(got.stdout, "]\n")
	if !ok || !strings.Contains(note, "4001 bytes of output were dropped") || rest != strings.Repeat("x", 999)+"\n" {
		t.Errorf("after 5001 bytes into a 1000-byte buffer: %q; want a note of 4001 dropped, then the last 1000", got.stdout)
	}
}

func TestKeptAttachTakesOver(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	ch := keptExec(t, m, `echo up; read x; echo "got $x"`)
	pid := ch.PID()
	firstOut(t, ch, "up\n")
	ch2 := attach(t, m, pid)
	if old := drain(t, ch); !old.end || old.exit != nil {
		t.Errorf("the channel taken over got %+v, exit %v; want End", old, old.exit)
	}
	io.WriteString(ch2, "it\n")
	if got := drain(t, ch2); got.stdout != "got it\n" || got.exit == nil || got.exit.Code != 0 {
		t.Errorf("the new attach: %+v, exit %v", got, got.exit)
	}
}

func TestKeptExecThatEndsAttachedIsCollected(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	ch := keptExec(t, m, `echo done`)
	if got := drain(t, ch); got.stdout != "done\n" || got.exit == nil {
		t.Fatalf("kept exec: %+v", got)
	}
	if all, err := m.ExecList(testCtx(t)); err != nil || len(all) != 0 {
		t.Errorf("ExecList after the exit went out = %+v, %v; want none", all, err)
	}
}

func TestKeptExecSignalsAfterReattach(t *testing.T) {
	srv := NewServer(execOptions(t))
	m := connect(t, srv)
	ch := keptExec(t, m, `trap 'echo got TERM; exit 9' TERM; echo up; while :; do sleep 0.05; done`)
	pid := ch.PID()
	firstOut(t, ch, "up\n")
	m.Close()
	m2 := connect(t, srv)
	ch2 := attach(t, m2, pid)
	if err := ch2.Signal("TERM"); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, ch2); got.stdout != "got TERM\n" || got.exit == nil || got.exit.Code != 9 {
		t.Errorf("after TERM: %+v, exit %v", got, got.exit)
	}
}

func TestKeptExecStreamsMoreThanItsBuffer(t *testing.T) {
	opts := execOptions(t)
	opts.KeepBuffer = 1000
	m, _ := muxHost(t, opts)
	// While a host follows, nothing is dropped: the process waits for it.
	in := strings.Repeat("0123456789abcdef", 4*agentproto.InitialCredit/16)
	ch, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"cat"}, Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		io.WriteString(ch, in)
		ch.CloseWrite()
	}()
	if got := drain(t, ch); got.stdout != in || got.exit == nil || got.exit.Code != 0 {
		t.Errorf("kept cat of %d bytes through a 1000-byte buffer: %d bytes back, exit %v", len(in), len(got.stdout), got.exit)
	}
}
