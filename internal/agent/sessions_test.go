package agent

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/agent/internal/connpair"
	"banger/internal/errdefs"
)

// logsOf reads a session's kept output.
func logsOf(t *testing.T, m *agentclient.Mux, name string) string {
	t.Helper()
	ch, _, err := m.SessionLogs(testCtx(t), name, false)
	if err != nil {
		t.Fatalf("SessionLogs %s: %v", name, err)
	}
	got := drain(t, ch)
	if !got.end {
		t.Errorf("logs of %s did not end with End", name)
	}
	return got.stdout
}

func eventuallyLogs(t *testing.T, m *agentclient.Mux, name, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := logsOf(t, m, name)
		if strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs of %s never showed %q: %q", name, want, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSessionOutlivesItsConnection(t *testing.T) {
	opts := execOptions(t)
	host, guestEnd := connpair.New(t)
	srv := NewServer(opts)
	go srv.ServeConn(testCtx(t), guestEnd)
	m, err := agentclient.Upgrade(testCtx(t), agentclient.NewConn(host))
	if err != nil {
		t.Fatal(err)
	}
	info, err := m.StartSession(testCtx(t), "ticker", agentproto.ExecSpec{Argv: []string{"sh", "-c", `i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.05; done`}})
	if err != nil || info.Name != "ticker" || !info.Running || info.PID == 0 {
		t.Fatalf("StartSession = %+v, %v", info, err)
	}
	if _, err := m.StartSession(testCtx(t), "ticker", agentproto.ExecSpec{Argv: []string{"true"}}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("a second running session of the same name: %v; want already exists", err)
	}
	m.Close()

	// A new connection (a new daemon) finds it still writing.
	host2, guest2 := connpair.New(t)
	go srv.ServeConn(testCtx(t), guest2)
	m2, err := agentclient.Upgrade(testCtx(t), agentclient.NewConn(host2))
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	eventuallyLogs(t, m2, "ticker", "tick 5\n")
	list, err := m2.ListSessions(testCtx(t))
	if err != nil || len(list) != 1 || !list[0].Running || strings.Join(list[0].Argv, " ") != "sh -c "+`i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.05; done` {
		t.Fatalf("ListSessions = %+v, %v", list, err)
	}
	// Its output is on disk too.
	b, err := os.ReadFile(filepath.Join(opts.SessionDir, "ticker.log"))
	if err != nil || !strings.HasPrefix(string(b), "tick 0\ntick 1\n") {
		t.Errorf("log file: %q, %v", b, err)
	}

	// Killed, it shows how it ended; killed again, it is forgotten.
	if _, err := m2.KillSession(testCtx(t), "ticker", "KILL"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, _ = m2.ListSessions(testCtx(t))
		if len(list) == 1 && !list[0].Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("killed session still running: %+v", list)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ex := list[0].Exit; ex == nil || ex.Status() != 128+9 || list[0].Ended.IsZero() {
		t.Errorf("killed session = %+v", list[0])
	}
	if _, err := m2.KillSession(testCtx(t), "ticker", ""); err != nil {
		t.Fatal(err)
	}
	if list, _ := m2.ListSessions(testCtx(t)); len(list) != 0 {
		t.Errorf("forgotten session still listed: %+v", list)
	}
	if _, err := m2.KillSession(testCtx(t), "ticker", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("kill of a forgotten session: %v; want not found", err)
	}
}

func TestSessionAttachAndDetach(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	info, err := m.StartSession(testCtx(t), "", agentproto.ExecSpec{Argv: []string{"sh"}, TTY: true, Size: &agentproto.WindowSize{Rows: 30, Cols: 100}})
	if err != nil || info.Name != "sh" || !info.TTY {
		t.Fatalf("StartSession = %+v, %v", info, err)
	}
	attach := func() *agentclient.Channel {
		ch, got, err := m.AttachSession(testCtx(t), "sh")
		if err != nil || got.Name != "sh" {
			t.Fatalf("AttachSession = %+v, %v", got, err)
		}
		return ch
	}
	var screen bytes.Buffer
	waitFor := func(ch *agentclient.Channel, want string) {
		t.Helper()
		for !strings.Contains(screen.String(), want) {
			ev, err := ch.Next(testCtx(t))
			if err != nil {
				t.Fatalf("waiting for %q: %v; screen %q", want, err, screen.String())
			}
			screen.Write(ev.Stdout)
		}
	}
	ch := attach()
	io.WriteString(ch, "echo one-$((40+2))\r")
	waitFor(ch, "one-42")
	ch.Close() // detach

	ch = attach()
	screen.Reset()
	ch.Resize(33, 99)
	io.WriteString(ch, "stty size; exit 5\r")
	waitFor(ch, "33 99")
	got := drain(t, ch)
	if got.exit == nil || got.exit.Status() != 5 {
		t.Errorf("attached session's end = %+v; want exit 5", got)
	}
	if out := logsOf(t, m, "sh"); !strings.Contains(out, "one-42") || !strings.Contains(out, "33 99") {
		t.Errorf("logs after the end: %q", out)
	}
}

func TestSessionNames(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	for _, want := range []string{"sleep", "sleep-2"} {
		info, err := m.StartSession(testCtx(t), "", agentproto.ExecSpec{Argv: []string{"/bin/sleep", "30"}})
		if err != nil || info.Name != want {
			t.Errorf("unnamed session = %+v, %v; want name %s", info, err, want)
		}
		defer m.KillSession(testCtx(t), want, "KILL")
	}
	if _, err := m.StartSession(testCtx(t), "../etc", agentproto.ExecSpec{Argv: []string{"true"}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("session named ../etc: %v; want invalid argument", err)
	}
	if _, _, err := m.AttachSession(testCtx(t), "nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("attach to a missing session: %v; want not found", err)
	}
}

func TestRingKeepsTheLatestBytes(t *testing.T) {
	r := newRing(8)
	r.Write([]byte("abcdef"))
	r.Write([]byte("ghijkl"))
	p := make([]byte, 16)
	res := r.read(0, p)
	if string(p[:res.n]) != "efghijkl" || res.skipped != 4 || res.next != 12 {
		t.Errorf("read from 0 = %q, skipped %d, next %d; want efghijkl, 4, 12", p[:res.n], res.skipped, res.next)
	}
	r.Write([]byte("0123456789"))
	if res := r.read(12, p); string(p[:res.n]) != "23456789" || res.skipped != 2 {
		t.Errorf("after a write larger than the ring: %q, skipped %d", p[:res.n], res.skipped)
	}
	res = r.read(22, p)
	if res.n != 0 || res.closed {
		t.Fatalf("at the end: %+v", res)
	}
	r.Close()
	select {
	case <-res.changed:
	default:
		t.Error("close did not wake a waiting reader")
	}
	if res := r.read(22, p); !res.closed {
		t.Error("read after close: not closed")
	}
}

type pruneEntry struct {
	run     bool
	started time.Time
}

func (e pruneEntry) running() bool { return e.run }

// TestPruneEndedForgetsTheOldestEnded: running entries stay however old;
// of the ended ones, the newest keptEnded stay.
func TestPruneEndedForgetsTheOldestEnded(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := map[int]pruneEntry{}
	for i := range keptEnded + 8 {
		m[i] = pruneEntry{started: base.Add(time.Duration(i) * time.Second)}
	}
	m[-1] = pruneEntry{run: true, started: base.Add(-time.Hour)}
	pruneEnded(m, func(e pruneEntry) time.Time { return e.started })
	if len(m) != keptEnded+1 || !m[-1].run {
		t.Fatalf("%d entries left, running one kept: %v; want %d ended and the running one", len(m), m[-1].run, keptEnded)
	}
	for i := range 8 {
		if _, ok := m[i]; ok {
			t.Errorf("entry %d, among the 8 oldest ended, was kept", i)
		}
	}
}
