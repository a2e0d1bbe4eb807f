package envd

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"connectrpc.com/connect"

	pb "banger/internal/e2b/envd/pb/process"
	"banger/internal/eventually"
)

// gate is a file a test creates to let a script go on.
type gate string

func newGate(t *testing.T) gate { return gate(filepath.Join(t.TempDir(), "go")) }

func (g gate) wait() string { return `while [ ! -e ` + string(g) + ` ]; do sleep 0.02; done; ` }

func (g gate) open(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(string(g), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// restart replaces the rig's Server with a new one over the same guest,
// as a restarted bangerd has: its process table starts empty.
func (r *rig) restart() {
	srv := New(Options{Keepalive: r.srv.keepalive})
	srv.execer, srv.files = r.srv.execer, r.srv.files
	r.srv = srv
}

func bySel(pid uint32) *pb.ProcessSelector {
	return &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}
}

func (r *rig) list(t *testing.T) []*pb.ProcessInfo {
	t.Helper()
	l, err := r.proc.List(testCtx(t), connect.NewRequest(&pb.ListRequest{}))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return l.Msg.Processes
}

func (r *rig) connect(t *testing.T, sel *pb.ProcessSelector) *events {
	t.Helper()
	s, err := r.proc.Connect(testCtx(t), connect.NewRequest(&pb.ConnectRequest{Process: sel}))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return connectEvents(t, s)
}

func (r *rig) send(t *testing.T, pid uint32, in string) {
	t.Helper()
	_, err := r.proc.SendInput(testCtx(t), connect.NewRequest(&pb.SendInputRequest{Process: bySel(pid), Input: &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: []byte(in)}}}))
	if err != nil {
		t.Fatalf("SendInput: %v", err)
	}
}

func TestAStreamFollowsItsProcessAcrossALostLink(t *testing.T) {
	r := newRig(t)
	g := newGate(t)
	ev := r.start(t, testCtx(t), &pb.StartRequest{Process: shell(`echo up; ` + g.wait() + `echo meanwhile; read x; echo "got $x"`), Stdin: ptr(true)})
	pid := ev.started()
	ev.until("up")
	r.dropLink()
	g.open(t) // it writes while nobody is attached
	r.relink(t)
	ev.until("meanwhile")
	r.send(t, pid, "it\n")
	if out, _, _, end := ev.output(); out != "got it\n" || end.ExitCode != 0 {
		t.Errorf("after the link came back: %q, %v; want got it, exit 0", out, end)
	}
}

func TestConnectListAndSignalAfterALostLink(t *testing.T) {
	r := newRig(t)
	g := newGate(t)
	ctx, leave := context.WithCancel(testCtx(t))
	ev := r.start(t, ctx, &pb.StartRequest{Process: shell(`echo up; ` + g.wait() + `echo meanwhile; exec sleep 100`), Tag: ptr("bg")})
	pid := ev.started()
	ev.until("up")
	r.leave(t, leave, pid) // as the SDK's disconnect()
	r.dropLink()
	g.open(t)
	r.relink(t)
	if l := r.list(t); len(l) != 1 || l[0].Pid != pid || l[0].GetTag() != "bg" {
		t.Fatalf("List after the link came back = %v; want pid %d tagged bg", l, pid)
	}
	cev := r.connect(t, bySel(pid))
	if got := cev.started(); got != pid {
		t.Errorf("Connect's pid = %d; want %d", got, pid)
	}
	cev.until("meanwhile") // kept by the guest while detached
	if _, err := r.proc.SendSignal(testCtx(t), connect.NewRequest(&pb.SendSignalRequest{Process: bySel(pid), Signal: pb.Signal_SIGNAL_SIGKILL})); err != nil {
		t.Fatalf("SendSignal: %v", err)
	}
	if _, _, _, end := cev.output(); end.Status != "signal: killed" {
		t.Errorf("end = %v; want killed", end)
	}
	eventually.True(t, func() bool { return len(r.list(t)) == 0 })
}

func TestProcessesOutliveARestartOfTheHost(t *testing.T) {
	r := newRig(t)
	g := newGate(t)
	ctx, leave := context.WithCancel(testCtx(t))
	ev := r.start(t, ctx, &pb.StartRequest{Process: shell(`echo up; ` + g.wait() + `echo meanwhile; read x; echo "got $x"`), Stdin: ptr(true), Tag: ptr("job")})
	pid := ev.started()
	ev.until("up")
	r.leave(t, leave, pid)
	r.dropLink()
	r.restart()
	r.relink(t)
	g.open(t)
	l := r.list(t)
	if len(l) != 1 || l[0].Pid != pid || l[0].GetTag() != "job" || l[0].GetConfig().GetCmd() != "sh" {
		t.Fatalf("List after a restart = %v; want pid %d, tag job, cmd sh", l, pid)
	}
	cev := r.connect(t, &pb.ProcessSelector{Selector: &pb.ProcessSelector_Tag{Tag: "job"}})
	cev.started()
	cev.until("meanwhile")
	r.send(t, pid, "back\n")
	if out, _, _, end := cev.output(); out != "got back\n" || end.ExitCode != 0 {
		t.Errorf("after a restart: %q, %v; want got back, exit 0", out, end)
	}
}

// A process that ends while nobody follows it is gone, whether or not
// the link to the guest went meanwhile: the list leaves it out, Connect
// and SendSignal find no process (E2B's SDK: kill() is false).
func TestAProcessThatEndedUnfollowedIsGone(t *testing.T) {
	for _, c := range []struct {
		name string
		lost func(r *rig)
		list bool
	}{
		{"its link kept", func(*rig) {}, true},
		{"the link lost, connected to first", func(r *rig) { r.dropLink() }, false},
		{"the link lost, listed first", func(r *rig) { r.dropLink() }, true},
		{"the host restarted", func(r *rig) { r.dropLink(); r.restart() }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			g := newGate(t)
			ctx, leave := context.WithCancel(testCtx(t))
			ev := r.start(t, ctx, &pb.StartRequest{Process: shell(`echo up; ` + g.wait() + `echo bye; exit 4`)})
			pid := ev.started()
			ev.until("up")
			r.leave(t, leave, pid)
			c.lost(r)
			g.open(t)
			r.relink(t)
			r.guestEnded(t, pid)
			if l := r.list(t); c.list && len(l) != 0 {
				t.Errorf("List once it ended = %v; want none", l)
			}
			checkCode(t, "Connect to it", r.connectErr(t, bySel(pid)), connect.CodeNotFound)
			checkCode(t, "SendSignal to it", r.signal(t, pid), connect.CodeNotFound)
			if l := r.list(t); len(l) != 0 {
				t.Errorf("List at the end = %v; want none", l)
			}
		})
	}
}

// A stream that followed a process across the lost link gets its end,
// though the process ended while the link was down.
func TestAStreamGetsTheEndOfAProcessThatEndedWhileTheLinkWasDown(t *testing.T) {
	r := newRig(t)
	g := newGate(t)
	ev := r.start(t, testCtx(t), &pb.StartRequest{Process: shell(`echo up; ` + g.wait() + `echo bye; exit 4`)})
	pid := ev.started()
	ev.until("up")
	r.dropLink()
	g.open(t)
	r.guestEnded(t, pid)
	r.relink(t)
	if out, _, _, end := ev.output(); out != "bye\n" || end.ExitCode != 4 || !end.Exited {
		t.Errorf("the stream that waited: %q, %v; want bye, exit 4", out, end)
	}
}

// guestEnded waits until the guest lists pid as ended, or no longer
// lists it, over a link of its own.
func (r *rig) guestEnded(t *testing.T, pid uint32) {
	t.Helper()
	m := agentMux(t, r.agent)
	eventually.True(t, func() bool {
		kept, err := m.ExecList(testCtx(t))
		if err != nil {
			t.Fatalf("ExecList: %v", err)
		}
		for _, k := range kept {
			if uint32(k.PID) == pid {
				return !k.Running
			}
		}
		return true // collected
	})
}

// connectErr is the error Connect to sel ends with.
func (r *rig) connectErr(t *testing.T, sel *pb.ProcessSelector) error {
	t.Helper()
	s, err := r.proc.Connect(testCtx(t), connect.NewRequest(&pb.ConnectRequest{Process: sel}))
	if err != nil {
		return err
	}
	defer s.Close()
	for s.Receive() {
	}
	return s.Err()
}

// leave ends the stream that follows pid and waits until the Server
// sees it gone.
func (r *rig) leave(t *testing.T, leave func(), pid uint32) {
	leave()
	p := r.srv.table(testVM).get(pid)
	eventually.True(t, func() bool { return !p.followed() })
}

func (r *rig) signal(t *testing.T, pid uint32) error {
	_, err := r.proc.SendSignal(testCtx(t), connect.NewRequest(&pb.SendSignalRequest{Process: bySel(pid), Signal: pb.Signal_SIGNAL_SIGTERM}))
	return err
}

func TestPtyResizeAndStdinCloseAfterALostLink(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	ev := r.start(t, ctx, &pb.StartRequest{Process: shell("echo ready; read x; stty size; cat"), Pty: &pb.PTY{Size: &pb.PTY_Size{Cols: 80, Rows: 24}}})
	pid := ev.started()
	ev.until("ready")
	r.dropLink()
	r.relink(t)
	if _, err := r.proc.Update(ctx, connect.NewRequest(&pb.UpdateRequest{Process: bySel(pid), Pty: &pb.PTY{Size: &pb.PTY_Size{Cols: 90, Rows: 33}}})); err != nil {
		t.Fatalf("Update after the link came back: %v", err)
	}
	if _, err := r.proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: bySel(pid), Input: &pb.ProcessInput{Input: &pb.ProcessInput_Pty{Pty: []byte("\n")}}})); err != nil {
		t.Fatalf("SendInput after the link came back: %v", err)
	}
	ev.until("33 90")
	if _, err := r.proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: bySel(pid), Input: &pb.ProcessInput{Input: &pb.ProcessInput_Pty{Pty: []byte{4}}}})); err != nil {
		t.Fatalf("SendInput of Ctrl-D: %v", err)
	}
	if _, _, _, end := ev.output(); end.ExitCode != 0 {
		t.Errorf("end = %v; want exit 0 after Ctrl-D", end)
	}
}

func TestCloseStdinAfterALostLink(t *testing.T) {
	r := newRig(t)
	ev := r.start(t, testCtx(t), &pb.StartRequest{Process: shell("echo up; cat; echo eof"), Stdin: ptr(true)})
	pid := ev.started()
	ev.until("up")
	r.dropLink()
	r.relink(t)
	if _, err := r.proc.CloseStdin(testCtx(t), connect.NewRequest(&pb.CloseStdinRequest{Process: bySel(pid)})); err != nil {
		t.Fatalf("CloseStdin after the link came back: %v", err)
	}
	if out, _, _, end := ev.output(); out != "eof\n" || end.ExitCode != 0 {
		t.Errorf("after CloseStdin: %q, %v; want eof, exit 0", out, end)
	}
}
