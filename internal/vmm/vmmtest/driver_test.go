package vmmtest

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"banger/internal/agent/agentclient"
	"banger/internal/vmm"
)

func TestStartedGuestGetsReadyUnderItsName(t *testing.T) {
	d, spec := started(t, "web")
	st, err := agentclient.WaitReady(testCtx(t), d.Endpoint(spec))
	if err != nil || !st.Ready || st.Hostname != "web" {
		t.Fatalf("WaitReady = %+v, %v; want ready, named web", st, err)
	}
	if got := d.StateOf(spec.RunDir); got != vmm.StateRunning {
		t.Errorf("state = %s, want running", got)
	}
	if got := d.Methods(); !slices.Equal(got, []string{"Start"}) {
		t.Errorf("calls = %q, want [Start]", got)
	}
	if c := d.Calls()[0]; c.Spec.Name != "web" || c.Spec.RunDir != spec.RunDir {
		t.Errorf("recorded spec = %+v, want the one given", c.Spec)
	}
	if b, _ := os.ReadFile(d.Calls()[0].Spec.RunDir + "/console.log"); !strings.Contains(string(b), "booted") {
		t.Errorf("console log = %q, want a boot line", b)
	}
}

func TestStartTwiceInOneRunDirFails(t *testing.T) {
	d, spec := started(t, "web")
	if _, err := d.Start(testCtx(t), spec); err == nil {
		t.Fatal("second Start succeeded, want an error: a VM runs there")
	}
	other := newSpec(t, "nowhere")
	other.RunDir += "/missing"
	if _, err := d.Start(testCtx(t), other); err == nil {
		t.Fatal("Start without a run dir succeeded")
	}
}

func TestKillEndsWaitAndTheAgent(t *testing.T) {
	d, spec := started(t, "web")
	done := waitDone(t, d, spec)
	if err := d.Kill(testCtx(t), spec); err != nil {
		t.Fatal(err)
	}
	if err := mustReturn(t, done); err != nil {
		t.Errorf("Wait = %v, want nil once killed", err)
	}
	if st, _ := d.State(testCtx(t), spec); st != vmm.StateStopped {
		t.Errorf("State = %s, want stopped", st)
	}
	if _, err := agentclient.Dial(shortCtx(t), d.Endpoint(spec)); err == nil {
		t.Error("Dial reached the agent of a killed VM")
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	d, spec := started(t, "web")
	if err := d.Wait(shortCtx(t), spec); err == nil {
		t.Error("Wait on a running VM returned nil, want ctx's error")
	}
}

func TestExitIsTheVMMStoppingOnItsOwn(t *testing.T) {
	d, spec := started(t, "web")
	done := waitDone(t, d, spec)
	d.Exit(spec.RunDir)
	if err := mustReturn(t, done); err != nil {
		t.Errorf("Wait = %v, want nil", err)
	}
	if got := d.Methods(); !slices.Equal(got, []string{"Start"}) {
		t.Errorf("calls = %q, want only Start", got)
	}
}

func TestShutdownThroughTheAgentStopsTheVM(t *testing.T) {
	d, spec := started(t, "web")
	done := waitDone(t, d, spec)
	if err := mux(t, d, spec).Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := mustReturn(t, done); err != nil || d.StateOf(spec.RunDir) != vmm.StateStopped {
		t.Errorf("Wait = %v, state %s; want the VM stopped", err, d.StateOf(spec.RunDir))
	}
}

func TestSnapshotAndRestore(t *testing.T) {
	d, spec := started(t, "tmpl")
	if err := mux(t, d, spec).PrepareSnapshot(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir() + "/state"
	if err := d.SaveState(testCtx(t), spec, state); err != nil {
		t.Fatal(err)
	}
	if d.StateOf(spec.RunDir) != vmm.StatePaused {
		t.Errorf("state after SaveState = %s, want paused", d.StateOf(spec.RunDir))
	}
	if fi, err := os.Stat(state); err != nil || fi.Size() == 0 {
		t.Fatalf("state file: %v", err)
	}
	if err := d.Kill(testCtx(t), spec); err != nil {
		t.Fatal(err)
	}
	clone := newSpec(t, "clone")
	if _, err := d.Restore(testCtx(t), clone, state); err != nil {
		t.Fatal(err)
	}
	st, err := agentclient.WaitReady(testCtx(t), d.Endpoint(clone))
	if err != nil || st.Hostname != "tmpl" {
		t.Fatalf("restored guest: %+v, %v; want ready, still named tmpl", st, err)
	}
	want := []string{"Start", "SaveState", "Kill", "Restore"}
	if got := d.Methods(); !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
	if c := d.Calls()[3]; c.Path != state || c.Spec.Name != "clone" {
		t.Errorf("Restore call = %+v, want the state path and the clone's spec", c)
	}
}

func TestRestoreWithoutAStateFileFails(t *testing.T) {
	d := New(t)
	spec := newSpec(t, "clone")
	if _, err := d.Restore(testCtx(t), spec, spec.RunDir+"/missing"); err == nil {
		t.Fatal("Restore from a missing file succeeded")
	}
	if d.StateOf(spec.RunDir) != vmm.StateStopped {
		t.Error("a failed Restore left a VM running")
	}
}

func TestPausedGuestAnswersAfterResume(t *testing.T) {
	d, spec := started(t, "web")
	if err := d.SaveState(testCtx(t), spec, t.TempDir()+"/state"); err != nil {
		t.Fatal(err)
	}
	if _, err := agentclient.WaitReady(shortCtx(t), d.Endpoint(spec)); err == nil {
		t.Fatal("a paused guest answered")
	}
	if err := d.Resume(testCtx(t), spec); err != nil {
		t.Fatal(err)
	}
	if _, err := agentclient.WaitReady(testCtx(t), d.Endpoint(spec)); err != nil {
		t.Fatalf("WaitReady after Resume: %v", err)
	}
}

func TestFailInjection(t *testing.T) {
	d := New(t)
	boom := errors.New("boom")
	d.Fail("Start", boom)
	spec := newSpec(t, "web")
	for range 2 {
		if _, err := d.Start(testCtx(t), spec); !errors.Is(err, boom) {
			t.Fatalf("Start = %v, want boom", err)
		}
	}
	if d.StateOf(spec.RunDir) != vmm.StateStopped {
		t.Error("a failed Start left a VM running")
	}
	d.Fail("Start", nil)
	d.FailOnce("Kill", boom)
	if _, err := d.Start(testCtx(t), spec); err != nil {
		t.Fatalf("Start after Fail(Start, nil): %v", err)
	}
	if err := d.Kill(testCtx(t), spec); !errors.Is(err, boom) || d.StateOf(spec.RunDir) != vmm.StateRunning {
		t.Fatalf("Kill = %v (state %s), want boom and the VM still running", err, d.StateOf(spec.RunDir))
	}
	if err := d.Kill(testCtx(t), spec); err != nil {
		t.Fatalf("second Kill = %v, want FailOnce spent", err)
	}
	want := []string{"Start", "Start", "Start", "Kill", "Kill"}
	if got := d.Methods(); !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

func TestAdoptionStates(t *testing.T) {
	d := New(t)
	spec := newSpec(t, "old")
	d.SetState(spec.RunDir, vmm.StatePaused)
	if info, err := d.Attach(testCtx(t), spec); err != nil || info.State != vmm.StatePaused || info.PID <= 0 {
		t.Errorf("Attach = %+v, %v; want paused with a pid", info, err)
	}
	other := newSpec(t, "gone")
	if info, _ := d.Attach(testCtx(t), other); info.State != vmm.StateStopped {
		t.Errorf("Attach of an unknown run dir = %s, want stopped", info.State)
	}
	live := newSpec(t, "live")
	if _, err := d.AlreadyRunning(live); err != nil {
		t.Fatal(err)
	}
	if st, err := agentclient.WaitReady(testCtx(t), d.Endpoint(live)); err != nil || st.Hostname != "live" {
		t.Errorf("adopted guest: %+v, %v", st, err)
	}
	if got := d.Methods(); !slices.Equal(got, []string{"Attach", "Attach"}) {
		t.Errorf("calls = %q, want the two Attaches only", got)
	}
}
