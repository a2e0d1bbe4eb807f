package vmmtest

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/vmm"
)

func TestIdentifyRenamesTheGuest(t *testing.T) {
	d, spec := started(t, "tmpl")
	c, err := agentclient.Dial(testCtx(t), d.Endpoint(spec))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := agentproto.Identity{Hostname: "clone", Address: "172.16.0.9/24", Entropy: []byte{1}}
	st, err := c.Identify(testCtx(t), id, 5*time.Second)
	if err != nil || !st.Ready || st.Hostname != "clone" {
		t.Fatalf("Identify = %+v, %v; want ready, named clone", st, err)
	}
	if got := d.Identities(spec.RunDir); len(got) != 1 || got[0].Address != "172.16.0.9/24" {
		t.Errorf("identities = %+v, want the one sent", got)
	}
	if d.Hostname(spec.RunDir) != "clone" {
		t.Errorf("Hostname = %q, want clone", d.Hostname(spec.RunDir))
	}
	if h, _ := os.Hostname(); h == "clone" {
		t.Error("identify renamed the machine running the test")
	}
}

func TestIdentifyFailure(t *testing.T) {
	d, spec := started(t, "tmpl")
	d.Fail("Identify", errors.New("no network"))
	c, err := agentclient.Dial(testCtx(t), d.Endpoint(spec))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Identify(testCtx(t), agentproto.Identity{Hostname: "clone"}, time.Second); err == nil || !strings.Contains(err.Error(), "no network") {
		t.Errorf("Identify = %v, want the injected failure", err)
	}
	if d.Hostname(spec.RunDir) != "tmpl" {
		t.Errorf("a failed identify renamed the guest to %q", d.Hostname(spec.RunDir))
	}
}

func TestExecRunsStandIns(t *testing.T) {
	d, spec := started(t, "web")
	d.SetCommand("systemctl", Result{Stdout: "running\n"})
	d.SetCommand("grep", Result{Stderr: "nope\n", Code: 2})
	m := mux(t, d, spec)
	cases := []struct {
		argv          []string
		stdout, stder string
		code          int
	}{
		{[]string{"echo", "hello", "world"}, "hello world\n", "", 0},
		{[]string{"/usr/bin/systemctl", "is-system-running"}, "running\n", "", 0},
		{[]string{"grep", "x"}, "", "nope\n", 2},
		{[]string{"false"}, "", "", 1},
		{[]string{"rm", "-rf", spec.RunDir}, "", "", 0},
	}
	for _, c := range cases {
		out, errOut, code := execOut(t, m, c.argv...)
		if out != c.stdout || errOut != c.stder || code != c.code {
			t.Errorf("%q = %q, %q, %d; want %q, %q, %d", c.argv, out, errOut, code, c.stdout, c.stder, c.code)
		}
	}
	if _, err := os.Stat(spec.RunDir); err != nil {
		t.Errorf("a command of the host ran on this machine: %v", err)
	}
	if got := d.Execs(spec.RunDir); len(got) != len(cases) || !slices.Equal(got[0], cases[0].argv) {
		t.Errorf("execs = %q, want the %d commands sent", got, len(cases))
	}
}

func TestExecFailure(t *testing.T) {
	d, spec := started(t, "web")
	d.FailOnce("Exec", errors.New("no such guest"))
	m := mux(t, d, spec)
	if _, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "no such guest") {
		t.Errorf("Exec = %v, want the injected failure", err)
	}
	if out, _, _ := execOut(t, m, "echo", "ok"); out != "ok\n" {
		t.Errorf("Exec after the failure = %q, want ok", out)
	}
}

func TestNotReadyGuestUntilSetReady(t *testing.T) {
	d := New(t)
	d.SetGuest(GuestNotReady)
	spec := newSpec(t, "web")
	if _, err := d.Start(testCtx(t), spec); err != nil {
		t.Fatal(err)
	}
	if _, err := agentclient.WaitReady(shortCtx(t), d.Endpoint(spec)); !errors.Is(err, agentclient.ErrNotReady) {
		t.Fatalf("WaitReady = %v, want not ready", err)
	}
	if err := d.SetReady(spec.RunDir, true); err != nil {
		t.Fatal(err)
	}
	if st, err := agentclient.WaitReady(testCtx(t), d.Endpoint(spec)); err != nil || !st.Ready {
		t.Fatalf("WaitReady after SetReady = %+v, %v", st, err)
	}
}

func TestGuestsThatNeverAnswer(t *testing.T) {
	for _, mode := range []Guest{GuestSilent, GuestAbsent} {
		d := New(t)
		d.SetGuest(mode)
		spec := newSpec(t, "web")
		if _, err := d.Start(testCtx(t), spec); err != nil {
			t.Fatal(err)
		}
		if _, err := agentclient.WaitReady(shortCtx(t), d.Endpoint(spec)); err == nil {
			t.Errorf("mode %d: WaitReady succeeded, want it to run out", mode)
		}
		if d.StateOf(spec.RunDir) != vmm.StateRunning {
			t.Errorf("mode %d: state %s, want running", mode, d.StateOf(spec.RunDir))
		}
		_, err := os.Stat(spec.AgentSocket)
		if (mode == GuestAbsent) != os.IsNotExist(err) {
			t.Errorf("mode %d: agent socket: %v", mode, err)
		}
	}
}

func TestCrashingVMM(t *testing.T) {
	d := New(t)
	d.SetGuest(GuestCrash)
	spec := newSpec(t, "web")
	if _, err := d.Start(testCtx(t), spec); err != nil {
		t.Fatalf("Start = %v, want success: the VMM crashes after", err)
	}
	if err := d.Wait(testCtx(t), spec); err != nil {
		t.Errorf("Wait = %v, want nil", err)
	}
	if d.StateOf(spec.RunDir) != vmm.StateStopped {
		t.Error("a crashed VMM is not stopped")
	}
}

func TestSequentialAndConcurrentConnections(t *testing.T) {
	d, spec := started(t, "web")
	for range 3 {
		if _, err := agentclient.WaitReady(testCtx(t), d.Endpoint(spec)); err != nil {
			t.Fatal(err)
		}
	}
	m := mux(t, d, spec) // stays open while others come and go
	if _, err := agentclient.WaitReady(testCtx(t), d.Endpoint(spec)); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := execOut(t, m, "echo", "still"); out != "still\n" {
		t.Errorf("exec on the first connection = %q", out)
	}
}

func TestFirecrackerGuestsSpeakHybridVsock(t *testing.T) {
	d := New(t)
	d.SetName("firecracker")
	spec := newSpec(t, "fc")
	if _, err := d.Start(testCtx(t), spec); err != nil {
		t.Fatal(err)
	}
	if ep := d.Endpoint(spec); ep.Kind != agentclient.KindHybridVsock {
		t.Fatalf("endpoint kind = %s, want hybrid vsock", ep.Kind)
	}
	if st, err := agentclient.WaitReady(testCtx(t), d.Endpoint(spec)); err != nil || st.Hostname != "fc" {
		t.Fatalf("WaitReady = %+v, %v", st, err)
	}
	if out, _, _ := execOut(t, mux(t, d, spec), "echo", "fc"); out != "fc\n" {
		t.Errorf("exec = %q, want fc", out)
	}
}
