package server

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/agent"
	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/eventually"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/vm"
	"banger/internal/vmm"
)

// fakeVMM is a driver whose VMs are always running; their agent is a real
// agent serving on the spec's agent socket, one connection at a time, as
// QEMU's virtio-serial chardev does.
type fakeVMM struct{}

func (fakeVMM) Name() string                                        { return "qemu" }
func (fakeVMM) Start(context.Context, vmm.Spec) (vmm.Info, error)   { return vmm.Info{}, nil }
func (fakeVMM) Attach(context.Context, vmm.Spec) (vmm.Info, error)  { return vmm.Info{}, nil }
func (fakeVMM) Stop(context.Context, vmm.Spec, time.Duration) error { return nil }
func (fakeVMM) Kill(context.Context, vmm.Spec) error                { return nil }
func (fakeVMM) Wait(ctx context.Context, _ vmm.Spec) error          { <-ctx.Done(); return ctx.Err() }
func (fakeVMM) State(context.Context, vmm.Spec) (vmm.State, error)  { return vmm.StateRunning, nil }

// execDaemon serves the API over a manager with one running VM, "box",
// whose guest agent runs commands on this machine.
func execDaemon(t *testing.T) (*client.Client, *testAPI) {
	t.Helper()
	return execDaemonVia(t, func(c net.Conn) net.Conn { return c })
}

// execDaemonVia is execDaemon whose agent sees each connection through
// via, which may change what the host sends.
func execDaemonVia(t *testing.T, via func(net.Conn) net.Conn) (*client.Client, *testAPI) {
	t.Helper()
	a := newTestAPI(t)
	v := store.VM{Name: "box", State: vm.StateRunning, Image: "i", Kernel: "k", VMM: "qemu", VCPU: 1, MemoryMiB: 1, DiskBytes: 1, VID: "f00d"}
	if err := a.store.CreateVM(a.ctx, v); err != nil {
		t.Fatal(err)
	}
	runDir := a.dirs.VMRunDir(v.VID)
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	agentLn, err := net.Listen("unix", filepath.Join(runDir, paths.AgentSocketName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agentLn.Close() })
	opts := agent.Options{SessionDir: t.TempDir(), PollInterval: 5 * time.Millisecond}
	srv := agent.NewServer(opts)
	go func() {
		for {
			c, err := agentLn.Accept()
			if err != nil {
				return
			}
			srv.ServeConn(a.ctx, via(c))
			c.Close()
		}
	}()
	return a.client, a
}

// runExec runs a command through the daemon and returns what came back.
func runExec(t *testing.T, c *client.Client, req api.ExecRequest, stdin string) (string, string, api.ExitStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := c.Exec(ctx, "box", req)
	if err != nil {
		t.Fatalf("Exec %q: %v", req.Command, err)
	}
	defer p.Close()
	go func() {
		if stdin != "" {
			p.Stdin([]byte(stdin))
		}
		p.CloseStdin()
	}()
	var out, errb bytes.Buffer
	for {
		o, err := p.Next()
		if err != nil {
			t.Fatalf("Exec %q: %v", req.Command, err)
		}
		out.Write(o.Stdout)
		errb.Write(o.Stderr)
		if o.Exit != nil {
			return out.String(), errb.String(), *o.Exit
		}
	}
}

func TestExecThroughTheDaemon(t *testing.T) {
	c, _ := execDaemon(t)
	out, errOut, st := runExec(t, c, api.ExecRequest{Command: []string{"sh", "-c", "cat; echo oops >&2; exit 4"}}, "piped in\n")
	if out != "piped in\n" || errOut != "oops\n" || st.Code != 4 {
		t.Errorf("exec = %q, %q, %+v", out, errOut, st)
	}
	if _, _, st := runExec(t, c, api.ExecRequest{Command: []string{"sh", "-c", "kill -KILL $$"}}, ""); st.Code != 137 || st.Signal != "KILL" {
		t.Errorf("a killed command's status = %+v; want 137, KILL", st)
	}
	// The daemon keeps one connection to the agent; many calls share it.
	for range 5 {
		if out, _, _ := runExec(t, c, api.ExecRequest{Command: []string{"echo", "again"}}, ""); out != "again\n" {
			t.Fatalf("repeated exec = %q", out)
		}
	}
	if _, err := c.Exec(context.Background(), "nosuch", api.ExecRequest{Command: []string{"true"}}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("exec in a missing VM = %v; want not found", err)
	}
	g, err := c.GuestInfo(context.Background(), "box")
	if err != nil || !g.Exec || g.Protocol < 2 {
		t.Errorf("guest info = %+v, %v", g, err)
	}
}

func TestSessionsThroughTheDaemon(t *testing.T) {
	c, _ := execDaemon(t)
	ctx := context.Background()
	sess, err := c.StartSession(ctx, "box", api.StartSessionRequest{Name: "web", ExecRequest: api.ExecRequest{Command: []string{"sh", "-c", "echo started; read line; echo got $line; sleep 30"}}})
	if err != nil || sess.Name != "web" || sess.VM != "box" || sess.State != api.SessionRunning || sess.Command != "sh -c 'echo started; read line; echo got $line; sleep 30'" {
		t.Fatalf("StartSession = %+v, %v", sess, err)
	}
	if _, err := c.StartSession(ctx, "box", api.StartSessionRequest{Name: "bad/name", ExecRequest: api.ExecRequest{Command: []string{"true"}}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad session name: %v", err)
	}
	list, err := c.ListSessions(ctx, "")
	if err != nil || len(list) != 1 || list[0].Name != "web" {
		t.Fatalf("ListSessions = %+v, %v", list, err)
	}

	// Attach, type a line, detach: the session goes on.
	p, err := c.AttachSession(ctx, "box", "web", api.AttachRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p.Stdin([]byte("hello\n"))
	var seen bytes.Buffer
	for !strings.Contains(seen.String(), "got hello") {
		o, err := p.Next()
		if err != nil {
			t.Fatalf("attached: %v (saw %q)", err, seen.String())
		}
		seen.Write(o.Stdout)
	}
	p.Close()

	var logs bytes.Buffer
	if err := c.SessionLogs(ctx, "box", "web", false, &logs); err != nil || logs.String() != "started\ngot hello\n" {
		t.Errorf("SessionLogs = %q, %v", logs.String(), err)
	}
	killed, err := c.KillSession(ctx, "box", "web", "KILL")
	if err != nil || killed.Name != "web" {
		t.Fatalf("KillSession = %+v, %v", killed, err)
	}
	eventually.True(t, func() bool {
		list, _ := c.ListSessions(ctx, "box")
		return len(list) == 1 && list[0].State == api.SessionExited && list[0].Exit != nil && list[0].Exit.Signal == "KILL"
	})
	// Following the logs of an ended session ends at once.
	logs.Reset()
	if err := c.SessionLogs(ctx, "box", "web", true, &logs); err != nil || !strings.HasSuffix(logs.String(), "got hello\n") {
		t.Errorf("SessionLogs -f of an ended session = %q, %v", logs.String(), err)
	}
	if _, err := c.KillSession(ctx, "box", "nope", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("kill of a missing session: %v", err)
	}
}

func TestExecClientLeavingHangsUp(t *testing.T) {
	c, _ := execDaemon(t)
	mark := filepath.Join(t.TempDir(), "hup")
	p, err := c.Exec(context.Background(), "box", api.ExecRequest{Command: []string{"sh", "-c", "trap 'echo > " + mark + "; exit 1' HUP; echo up; while :; do sleep 0.05; done"}})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := p.Next(); err != nil || string(o.Stdout) != "up\n" {
		t.Fatalf("first output %+v, %v", o, err)
	}
	p.Close()
	eventually.True(t, func() bool { _, err := os.Stat(mark); return err == nil })
}
