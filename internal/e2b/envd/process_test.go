package envd

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "banger/internal/e2b/envd/pb/process"
	"banger/internal/e2b/envd/pb/process/processconnect"
	"banger/internal/errdefs"
	"banger/internal/eventually"
)

// events reads a Start or Connect stream.
type events struct {
	t    *testing.T
	next func() bool
	msg  func() *pb.ProcessEvent
	err  func() error
}

func startEvents(t *testing.T, s *connect.ServerStreamForClient[pb.StartResponse]) *events {
	return &events{t, s.Receive, func() *pb.ProcessEvent { return s.Msg().GetEvent() }, s.Err}
}

func connectEvents(t *testing.T, s *connect.ServerStreamForClient[pb.ConnectResponse]) *events {
	return &events{t, s.Receive, func() *pb.ProcessEvent { return s.Msg().GetEvent() }, s.Err}
}

// event is the stream's next event; it fails the test at the stream's end.
func (e *events) event() *pb.ProcessEvent {
	e.t.Helper()
	if !e.next() {
		e.t.Fatalf("the stream ended early: %v", e.err())
	}
	return e.msg()
}

// started reads the start event and returns its pid.
func (e *events) started() uint32 {
	e.t.Helper()
	ev := e.event()
	if ev.GetStart() == nil {
		e.t.Fatalf("first event = %v; want a start event", ev)
	}
	return ev.GetStart().GetPid()
}

// output reads events until the end event, returning stdout, stderr
// and pty output, and the end.
func (e *events) output() (string, string, string, *pb.ProcessEvent_EndEvent) {
	e.t.Helper()
	var out, errOut, pty strings.Builder
	for {
		ev := e.event()
		if end := ev.GetEnd(); end != nil {
			return out.String(), errOut.String(), pty.String(), end
		}
		out.Write(ev.GetData().GetStdout())
		errOut.Write(ev.GetData().GetStderr())
		pty.Write(ev.GetData().GetPty())
	}
}

// until reads events until one of stdout or pty output holds want.
func (e *events) until(want string) {
	e.t.Helper()
	var seen strings.Builder
	for !strings.Contains(seen.String(), want) {
		ev := e.event()
		if ev.GetEnd() != nil {
			e.t.Fatalf("process ended (%v) before it wrote %q; it wrote %q", ev.GetEnd(), want, seen.String())
		}
		seen.Write(ev.GetData().GetStdout())
		seen.Write(ev.GetData().GetPty())
	}
}

func shell(script string) *pb.ProcessConfig {
	return &pb.ProcessConfig{Cmd: "sh", Args: []string{"-c", script}}
}

func (r *rig) start(t *testing.T, ctx context.Context, req *pb.StartRequest) *events {
	t.Helper()
	s, err := r.proc.Start(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return startEvents(t, s)
}

func ptr[T any](v T) *T { return &v }

func TestStartReportsOutputAndExitCode(t *testing.T) {
	r := newRig(t)
	ev := r.start(t, testCtx(t), &pb.StartRequest{Process: shell("echo hi; echo oops >&2; exit 3")})
	if pid := ev.started(); pid == 0 {
		t.Error("start event's pid = 0")
	}
	out, errOut, _, end := ev.output()
	if out != "hi\n" || errOut != "oops\n" {
		t.Errorf("output = %q, %q; want hi, oops", out, errOut)
	}
	if end.ExitCode != 3 || !end.Exited || end.Status != "exit status 3" || end.GetError() != "exit status 3" {
		t.Errorf("end = %v; want exit code 3, exited, \"exit status 3\"", end)
	}
}

func TestStartUsesEnvAndCwd(t *testing.T) {
	r := newRig(t)
	cfg := shell(`echo "$FROM_SANDBOX $MINE"; pwd`)
	cfg.Envs = map[string]string{"MINE": "mine"}
	cfg.Cwd = ptr("/tmp")
	out, _, _, end := r.start(t, testCtx(t), &pb.StartRequest{Process: cfg}).output()
	if out != "yes mine\n/tmp\n" || end.ExitCode != 0 || end.GetError() != "" {
		t.Errorf("output = %q, end %v; want the sandbox's and the call's env, in /tmp", out, end)
	}
}

func TestStdinReachesTheProcess(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	ev := r.start(t, ctx, &pb.StartRequest{Process: shell("cat; echo done"), Stdin: ptr(true)})
	pid := ev.started()
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}
	if _, err := r.proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: sel, Input: &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: []byte("piped\n")}}})); err != nil {
		t.Fatalf("SendInput: %v", err)
	}
	ev.until("piped\n")
	if _, err := r.proc.CloseStdin(ctx, connect.NewRequest(&pb.CloseStdinRequest{Process: sel})); err != nil {
		t.Fatalf("CloseStdin: %v", err)
	}
	if out, _, _, end := ev.output(); out != "done\n" || end.ExitCode != 0 {
		t.Errorf("after closing stdin: %q, %v; want done, exit 0", out, end)
	}
}

func TestWithoutStdinTheProcessReadsEOF(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	ev := r.start(t, ctx, &pb.StartRequest{Process: shell("cat; echo eof"), Stdin: ptr(false)})
	pid := ev.started()
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}
	_, err := r.proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: sel, Input: &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: []byte("x")}}}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition && connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("SendInput without stdin = %v; want failed precondition (or not found once it ended)", err)
	}
	if out, _, _, _ := ev.output(); out != "eof\n" {
		t.Errorf("output = %q; want eof at once", out)
	}
}

func TestPtyResizes(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	req := &pb.StartRequest{Process: shell("echo ready; read x; stty size"), Pty: &pb.PTY{Size: &pb.PTY_Size{Cols: 80, Rows: 24}}}
	ev := r.start(t, ctx, req)
	pid := ev.started()
	ev.until("ready")
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}
	if _, err := r.proc.Update(ctx, connect.NewRequest(&pb.UpdateRequest{Process: sel, Pty: &pb.PTY{Size: &pb.PTY_Size{Cols: 100, Rows: 30}}})); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if _, err := r.proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: sel, Input: &pb.ProcessInput{Input: &pb.ProcessInput_Pty{Pty: []byte("\n")}}})); err != nil {
		t.Fatalf("SendInput to the pty: %v", err)
	}
	out, errOut, pty, end := ev.output()
	if !strings.Contains(pty, "30 100") || out != "" || errOut != "" || end.ExitCode != 0 {
		t.Errorf("pty output %q (stdout %q, stderr %q), end %v; want \"30 100\" as pty data", pty, out, errOut, end)
	}
}

func TestBackgroundProcessOutlivesItsStreamAndReattaches(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	startCtx, leave := context.WithCancel(ctx)
	cfg := shell("read x; echo got $x")
	ev := r.start(t, startCtx, &pb.StartRequest{Process: cfg, Stdin: ptr(true), Tag: ptr("bg")})
	pid := ev.started()
	leave()

	list, err := r.proc.List(ctx, connect.NewRequest(&pb.ListRequest{}))
	if err != nil || len(list.Msg.Processes) != 1 {
		t.Fatalf("List = %v, %v; want the one background process", list, err)
	}
	if p := list.Msg.Processes[0]; p.Pid != pid || p.GetTag() != "bg" || p.GetConfig().GetCmd() != "sh" || len(p.GetConfig().GetArgs()) != 2 {
		t.Errorf("listed %v; want pid %d, tag bg and its config", p, pid)
	}
	s, err := r.proc.Connect(ctx, connect.NewRequest(&pb.ConnectRequest{Process: &pb.ProcessSelector{Selector: &pb.ProcessSelector_Tag{Tag: "bg"}}}))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer s.Close()
	cev := connectEvents(t, s)
	if got := cev.started(); got != pid {
		t.Errorf("Connect's start pid = %d; want %d", got, pid)
	}
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}
	if _, err := r.proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: sel, Input: &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: []byte("it\n")}}})); err != nil {
		t.Fatalf("SendInput: %v", err)
	}
	if out, _, _, end := cev.output(); out != "got it\n" || end.ExitCode != 0 {
		t.Errorf("re-attached output %q, end %v; want \"got it\", exit 0", out, end)
	}
	eventually.True(t, func() bool {
		l, err := r.proc.List(ctx, connect.NewRequest(&pb.ListRequest{}))
		return err == nil && len(l.Msg.Processes) == 0
	})
}

func TestSendSignalKills(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	ev := r.start(t, ctx, &pb.StartRequest{Process: shell("echo up; exec sleep 100")})
	pid := ev.started()
	ev.until("up")
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}
	_, err := r.proc.SendSignal(ctx, connect.NewRequest(&pb.SendSignalRequest{Process: sel}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("SendSignal with no signal = %v; want invalid argument", err)
	}
	if _, err := r.proc.SendSignal(ctx, connect.NewRequest(&pb.SendSignalRequest{Process: sel, Signal: pb.Signal_SIGNAL_SIGKILL})); err != nil {
		t.Fatalf("SendSignal: %v", err)
	}
	_, _, _, end := ev.output()
	if end.Exited || end.ExitCode != -1 || end.Status != "signal: killed" {
		t.Errorf("end = %v; want not exited, -1, \"signal: killed\"", end)
	}
}

func TestUnknownProcessIsNotFound(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: 4242}}
	_, err := r.proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: sel, Input: &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: []byte("x")}}}))
	checkCode(t, "SendInput", err, connect.CodeNotFound)
	_, err = r.proc.SendSignal(ctx, connect.NewRequest(&pb.SendSignalRequest{Process: sel, Signal: pb.Signal_SIGNAL_SIGTERM}))
	checkCode(t, "SendSignal", err, connect.CodeNotFound)
	_, err = r.proc.Update(ctx, connect.NewRequest(&pb.UpdateRequest{Process: &pb.ProcessSelector{Selector: &pb.ProcessSelector_Tag{Tag: "nope"}}}))
	checkCode(t, "Update", err, connect.CodeNotFound)
	s, err := r.proc.Connect(ctx, connect.NewRequest(&pb.ConnectRequest{Process: sel}))
	if err == nil {
		s.Receive()
		err = s.Err()
		s.Close()
	}
	checkCode(t, "Connect", err, connect.CodeNotFound)
	_, err = r.proc.CloseStdin(ctx, connect.NewRequest(&pb.CloseStdinRequest{}))
	checkCode(t, "CloseStdin with no selector", err, connect.CodeInvalidArgument)
}

func checkCode(t *testing.T, what string, err error, want connect.Code) {
	t.Helper()
	if got := connect.CodeOf(err); err == nil || got != want {
		t.Errorf("%s = %v; want code %v", what, err, want)
	}
}

func TestBadStartsAreRefused(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	s, err := r.proc.Start(ctx, connect.NewRequest(&pb.StartRequest{Process: &pb.ProcessConfig{}}))
	if err == nil {
		s.Receive()
		err = s.Err()
	}
	checkCode(t, "Start with no command", err, connect.CodeInvalidArgument)
	req := connect.NewRequest(&pb.StartRequest{Process: shell("true")})
	req.Header().Set("Authorization", "Basic bm9ib2R5Og==") // "nobody:"
	s, err = r.proc.Start(ctx, req)
	if err == nil {
		s.Receive()
		err = s.Err()
	}
	checkCode(t, "Start as an unknown user", err, connect.CodeInvalidArgument)
}

func TestKeepalivesWhileIdle(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	req := connect.NewRequest(&pb.StartRequest{Process: shell("read x"), Stdin: ptr(true)})
	req.Header().Set(keepaliveHeader, "0.02")
	s, err := r.proc.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := startEvents(t, s)
	pid := ev.started()
	for ev.event().GetKeepalive() == nil {
	}
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}
	if _, err := r.proc.CloseStdin(ctx, connect.NewRequest(&pb.CloseStdinRequest{Process: sel})); err != nil {
		t.Fatal(err)
	}
	if _, _, _, end := ev.output(); end.ExitCode != 1 {
		t.Errorf("end = %v; want read's exit 1 at end of file", end)
	}
}

func TestStreamInputIsUnimplemented(t *testing.T) {
	r := newRig(t)
	cs := r.proc.StreamInput(testCtx(t))
	cs.Send(&pb.StreamInputRequest{})
	_, err := cs.CloseAndReceive()
	checkCode(t, "StreamInput", err, connect.CodeUnimplemented)
}

func TestUnreachableGuestIsUnavailable(t *testing.T) {
	srv := New(Options{Guests: downGuests{}})
	_, err := srv.execer(t.Context(), testVM)
	if !errors.Is(err, errdefs.ErrUnavailable) || connect.CodeOf(rpcError(err)) != connect.CodeUnavailable {
		t.Errorf("exec in a VM whose agent is down = %v; want unavailable", err)
	}
}

func TestForgetDropsTheSandboxsProcesses(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	ev := r.start(t, ctx, &pb.StartRequest{Process: shell("echo up; exec sleep 100")})
	ev.started()
	ev.until("up")
	r.srv.Forget(testVM)
	if _, _, _, end := ev.output(); end.Exited {
		t.Errorf("end after Forget = %v; want not exited", end)
	}
	// The processes were killed: the guest does not list them either.
	eventually.True(t, func() bool {
		list, err := r.proc.List(ctx, connect.NewRequest(&pb.ListRequest{}))
		return err == nil && len(list.Msg.Processes) == 0
	})
}

func TestGuestGoneEndsStreamsAndStartsAreUnavailable(t *testing.T) {
	r := newRig(t)
	defer setRejoinWait(100 * time.Millisecond)()
	ctx := testCtx(t)
	ev := r.start(t, ctx, &pb.StartRequest{Process: shell("echo up; exec sleep 100")})
	ev.started()
	ev.until("up")
	r.dropLink()
	for ev.next() {
		if end := ev.msg().GetEnd(); end != nil {
			t.Fatalf("end event %v when the link went; the process runs on", end)
		}
	}
	if err := ev.err(); connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "connect to it again") {
		t.Errorf("stream when the guest went = %v; want unavailable, saying to connect again", err)
	}
	s, err := r.proc.Start(ctx, connect.NewRequest(&pb.StartRequest{Process: shell("true")}))
	if err == nil {
		s.Receive()
		err = s.Err()
	}
	checkCode(t, "Start in a guest that went", err, connect.CodeUnavailable)
}

func TestBinaryProtoCodecWorksToo(t *testing.T) {
	r := newRig(t)
	c := processconnect.NewProcessClient(http.DefaultClient, r.url) // binary protobuf
	s, err := c.Start(testCtx(t), connect.NewRequest(&pb.StartRequest{Process: shell("echo bin")}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := startEvents(t, s)
	ev.started()
	if out, _, _, end := ev.output(); out != "bin\n" || end.ExitCode != 0 {
		t.Errorf("over binary protobuf: %q, %v", out, end)
	}
}
