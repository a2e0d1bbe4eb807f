package agent

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/agent/internal/connpair"
)

// muxHost serves a guest on a pipe and returns a multiplexed client to it.
func muxHost(t *testing.T, opts Options) (*agentclient.Mux, *Server) {
	t.Helper()
	host, guestEnd := connpair.New(t)
	srv := NewServer(opts)
	ctx := testCtx(t)
	go srv.ServeConn(ctx, guestEnd)
	m, err := agentclient.Upgrade(ctx, agentclient.NewConn(host))
	if err != nil {
		t.Fatalf("Upgrade: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, srv
}

// execOptions are a guest without sshd whose sessions log to a temp dir.
func execOptions(t *testing.T) Options {
	g := newGuest(t)
	g.opts.SSHDPath = ""
	g.opts.SessionDir = t.TempDir()
	return g.opts
}

// collected is everything a channel delivered.
type collected struct {
	stdout, stderr string
	exit           *agentproto.ExitStatus
	end            bool
}

// drain reads a channel to its end.
func drain(t *testing.T, ch *agentclient.Channel) collected {
	t.Helper()
	var out, errb bytes.Buffer
	var c collected
	for {
		ev, err := ch.Next(testCtx(t))
		if errors.Is(err, agentclient.ErrChannelEnded) {
			c.stdout, c.stderr = out.String(), errb.String()
			return c
		}
		if err != nil {
			t.Fatalf("Next: %v (so far: %q, %q)", err, out.String(), errb.String())
		}
		out.Write(ev.Stdout)
		errb.Write(ev.Stderr)
		if ev.Exit != nil {
			c.exit = ev.Exit
		}
		c.end = c.end || ev.End
	}
}

func run(t *testing.T, m *agentclient.Mux, spec agentproto.ExecSpec, stdin string) collected {
	t.Helper()
	ch, err := m.Exec(testCtx(t), spec)
	if err != nil {
		t.Fatalf("Exec %q: %v", spec.Argv, err)
	}
	go func() {
		io.WriteString(ch, stdin)
		ch.CloseWrite()
	}()
	return drain(t, ch)
}

func TestExecStatusAndStreams(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	for _, tc := range []struct {
		argv           []string
		stdin          string
		stdout, stderr string
		status         int
	}{
		{[]string{"sh", "-c", "echo out; echo err >&2; exit 7"}, "", "out\n", "err\n", 7},
		{[]string{"sh", "-c", "kill -TERM $$"}, "", "", "", 128 + 15},
		{[]string{"tr", "a-z", "A-Z"}, "hello\nworld\n", "HELLO\nWORLD\n", "", 0},
		{[]string{"no-such-command-here"}, "", "", "banger: no-such-command-here: command not found\n", 127},
		{[]string{"sh", "-c", `echo "$HOME $USER $PWD"`}, "", "/root root /root\n", "", 0},
	} {
		got := run(t, m, agentproto.ExecSpec{Argv: tc.argv}, tc.stdin)
		if got.exit == nil || got.exit.Status() != tc.status || got.stdout != tc.stdout || got.stderr != tc.stderr {
			t.Errorf("exec %q = status %v, stdout %q, stderr %q; want %d, %q, %q", tc.argv, got.exit, got.stdout, got.stderr, tc.status, tc.stdout, tc.stderr)
		}
	}
}

func TestExecStreamsMoreThanTheCredit(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	// Four times the initial credit each way: both directions must be
	// granted more as the other side consumes.
	in := strings.Repeat("0123456789abcdef", 4*agentproto.InitialCredit/16)
	got := run(t, m, agentproto.ExecSpec{Argv: []string{"cat"}}, in)
	if got.exit == nil || got.exit.Status() != 0 || got.stdout != in {
		t.Fatalf("cat of %d bytes: status %v, %d bytes back", len(in), got.exit, len(got.stdout))
	}
}

func TestExecConcurrentChannels(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	// A command nobody reads must not hold up the others.
	stuck, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"sh", "-c", "yes | head -c 10000000"}})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	for i := range 3 {
		if got := run(t, m, agentproto.ExecSpec{Argv: []string{"echo", "quick"}}, ""); got.stdout != "quick\n" {
			t.Fatalf("run %d beside a stalled channel: %+v", i, got)
		}
	}
	st, err := m.Status(testCtx(t))
	if err != nil || !st.Ready {
		t.Fatalf("status beside a stalled channel: %+v, %v", st, err)
	}
}

func TestExecTTY(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	spec := agentproto.ExecSpec{
		Argv: []string{"sh", "-c", `tty; stty size; echo "term=$TERM"; read x; stty size`},
		TTY:  true, Size: &agentproto.WindowSize{Rows: 40, Cols: 120}, Term: "vt100",
	}
	ch, err := m.Exec(testCtx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	waitFor := func(want string) {
		t.Helper()
		for !strings.Contains(out.String(), want) {
			ev, err := ch.Next(testCtx(t))
			if err != nil {
				t.Fatalf("waiting for %q: %v; got %q", want, err, out.String())
			}
			out.Write(ev.Stdout)
		}
	}
	waitFor("term=vt100")
	if s := out.String(); !strings.Contains(s, "/dev/pts/") || !strings.Contains(s, "40 120") {
		t.Errorf("terminal output %q: want a pts and 40 120", s)
	}
	if err := ch.Resize(50, 132); err != nil {
		t.Fatal(err)
	}
	io.WriteString(ch, "\r")
	waitFor("50 132")
	got := drain(t, ch)
	if got.exit == nil || got.exit.Status() != 0 {
		t.Errorf("exit = %v", got.exit)
	}
}

func TestExecSignalReachesTheGroup(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	ch, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"sh", "-c", `trap 'echo got INT; exit 3' INT; echo ready; sleep 30 & wait`}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ch.Next(testCtx(t))
	if err != nil || string(ev.Stdout) != "ready\n" {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	if err := ch.Signal("INT"); err != nil {
		t.Fatal(err)
	}
	got := drain(t, ch)
	if got.stdout != "got INT\n" || got.exit == nil || got.exit.Status() != 3 {
		t.Errorf("after INT: %+v, exit %v", got, got.exit)
	}
}

func TestAbandonedExecIsHungUp(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	dir := t.TempDir()
	ch, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"sh", "-c", `trap 'echo hup > ` + dir + `/hup; exit 1' HUP; echo up; while :; do sleep 0.05; done`}})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := ch.Next(testCtx(t)); err != nil || string(ev.Stdout) != "up\n" {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	ch.Close()
	waitFile(t, dir+"/hup")
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !fileExists(path) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStreamOpsNeedStreams(t *testing.T) {
	g := newGuest(t)
	host, _ := pipeHost(t, g.opts)
	r := newRawHost(t, host).send(`{"v":2,"id":5,"op":"exec","exec":{"argv":["true"]}}` + "\n")
	if r.OK || r.Code != agentproto.CodeBadRequest || !strings.Contains(r.Error, "streams") {
		t.Errorf("exec on a plain connection = %+v; want bad-request naming the streams feature", r)
	}
}

func TestNewHelloEndsTheOldHostsChannels(t *testing.T) {
	opts := execOptions(t)
	host, guestEnd := connpair.New(t)
	go NewServer(opts).ServeConn(testCtx(t), guestEnd)
	raw := newRawHost(t, host)
	if r := raw.send(`{"v":2,"id":1,"op":"hello","features":["streams"]}` + "\n"); !r.OK || len(r.Hello.Features) != 1 {
		t.Fatalf("hello asking for streams = %+v", r)
	}
	dir := t.TempDir()
	script := `trap 'echo hup > ` + dir + `/hup; exit 1' HUP; echo > ` + dir + `/up; while :; do sleep 0.05; done`
	if r := raw.send(`{"v":2,"id":2,"op":"exec","exec":{"argv":["sh","-c",` + strconv.Quote(script) + `]}}` + "\n"); !r.OK || r.ID != 2 {
		t.Fatalf("exec = %+v", r)
	}
	waitFile(t, dir+"/up")
	// A second host on the same stream, as a restarted daemon on a
	// virtio-serial port the guest did not see close: it says hello.
	r := raw.send("\n" + `{"v":1,"id":77,"op":"hello"}` + "\n")
	for r.ID != 77 {
		r = raw.read() // what the first host was still sent
	}
	if !r.OK || r.Hello == nil || len(r.Hello.Features) != 0 {
		t.Fatalf("hello from a new host = %+v", r)
	}
	waitFile(t, dir+"/hup")
}

func TestExecAnswerCarriesThePID(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	ch, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"sh", "-c", "echo $$"}})
	if err != nil {
		t.Fatal(err)
	}
	c := drain(t, ch)
	if got := strconv.Itoa(ch.PID()); ch.PID() <= 0 || c.stdout != got+"\n" {
		t.Errorf("PID() = %d; the shell says it is %q", ch.PID(), c.stdout)
	}
}

// TestLoginShellArgvRunsTheShellAtOnce: the CLI's login-shell form runs
// $SHELL -c SCRIPT itself, with no /bin/sh in between, and anything else
// runs as it is.
func TestLoginShellArgvRunsTheShellAtOnce(t *testing.T) {
	env := []string{"PATH=/usr/bin:/bin", "SHELL=/bin/bash"}
	argv, path, err := resolveCommand(agentproto.LoginShellArgv("echo hi"), env)
	if err != nil || path != "/bin/bash" || !slices.Equal(argv, []string{"/bin/bash", "-c", "echo hi"}) {
		t.Errorf("login shell form: got %q %q %v, want /bin/bash -c 'echo hi'", argv, path, err)
	}
	argv, path, err = resolveCommand(agentproto.LoginShellArgv("true"), []string{"PATH=/usr/bin:/bin", "SHELL="})
	if err != nil || path != "/bin/sh" || argv[0] != "/bin/sh" {
		t.Errorf("without SHELL: got %q %q %v, want /bin/sh", argv, path, err)
	}
	other := []string{"/bin/sh", "-c", "exec \"$SHELL\"", "sh", "x"}
	argv, _, err = resolveCommand(other, env)
	if err != nil || !slices.Equal(argv, other) {
		t.Errorf("another sh -c argv: got %q %v, want it unchanged", argv, err)
	}
}
