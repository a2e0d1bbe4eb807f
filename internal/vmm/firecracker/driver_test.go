package firecracker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vmm"
)

// fakeSpec is a spec whose files exist, for a fake Firecracker.
func fakeSpec(t *testing.T) vmm.Spec {
	t.Helper()
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"vmlinux": "\x7fELF\x02\x01\x01", "initrd.img": "", "root.ext4": "", "work.ext4": ""}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return vmm.Spec{
		Name: "dev", VCPU: 2, MemoryMiB: 512,
		Kernel: filepath.Join(dir, "vmlinux"), Initrd: filepath.Join(dir, "initrd.img"),
		Cmdline: "root=/dev/vda",
		Disks: []vmm.Disk{
			{ID: "root", Path: filepath.Join(dir, "root.ext4"), Format: "raw", ReadOnly: true},
			{ID: "work", Path: filepath.Join(dir, "work.ext4")},
		},
		NICs:        []vmm.NIC{{ID: "net0", Tap: "bg-tap0", MAC: "52:54:00:00:00:01"}},
		RunDir:      runDir,
		AgentSocket: filepath.Join(runDir, "agent.sock"),
	}
}

// startFake starts a fake Firecracker and kills it when the test ends.
func startFake(t *testing.T, d *Driver, spec vmm.Spec) vmm.Info {
	t.Helper()
	info, err := d.Start(testCtx(t), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), spec) })
	return info
}

// configCalls drops the GET / polls that come before the first PUT.
func configCalls(calls []call) []call {
	i := slices.IndexFunc(calls, func(c call) bool { return c.Call != "GET /" })
	if i < 0 {
		return nil
	}
	return calls[i:]
}

func TestStartConfiguresAndBoots(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	info := startFake(t, d, spec)
	want := vmm.Info{PID: info.PID, State: vmm.StateRunning, Accelerator: "kvm", ConsoleLog: filepath.Join(spec.RunDir, "console.log")}
	if info.PID <= 0 || info != want {
		t.Errorf("Start = %+v, want %+v", info, want)
	}
	calls := fakeCalls(t, spec.RunDir)
	assertValid(t, calls)
	wantCalls := []string{
		"PUT /machine-config", "PUT /boot-source", "PUT /drives/root", "PUT /drives/work",
		"PUT /network-interfaces/net0", "PUT /vsock", "PUT /actions",
	}
	got := configCalls(calls)
	if names := callNames(got); !reflect.DeepEqual(names, wantCalls) {
		t.Fatalf("calls after the API answered = %q\nwant %q", names, wantCalls)
	}
	if last := got[len(got)-1]; string(last.Body) != `{"action_type":"InstanceStart"}` {
		t.Errorf("last call %s %s, want InstanceStart", last.Call, last.Body)
	}
	console, _ := os.ReadFile(info.ConsoleLog)
	if !strings.Contains(string(console), fakeBooted) {
		t.Errorf("console.log = %q, want the guest's serial output", console)
	}
	pid, _ := os.ReadFile(filepath.Join(spec.RunDir, "firecracker.pid"))
	if strings.TrimSpace(string(pid)) != strconv.Itoa(info.PID) {
		t.Errorf("firecracker.pid = %q, want %d", pid, info.PID)
	}
}

func TestLifecycle(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	ctx := testCtx(t)
	info := startFake(t, d, spec)
	if _, err := d.Start(ctx, spec); errdefs.KindOf(err) != errdefs.KindAlreadyExists {
		t.Errorf("second Start: %v, want AlreadyExists", err)
	}
	if st, err := d.State(ctx, spec); err != nil || st != vmm.StateRunning {
		t.Errorf("State = %q, %v; want running", st, err)
	}
	// A daemon restart: a fresh driver finds the VM from its RunDir.
	restarted := &Driver{Binary: d.Binary}
	if attached, err := restarted.Attach(ctx, spec); err != nil || attached != info {
		t.Errorf("Attach = %+v, %v; want %+v", attached, err, info)
	}
	// Paused through the API, as a later pause command would.
	if err := NewClient(apiSocketPath(spec)).PatchVM(ctx, VMPaused); err != nil {
		t.Fatalf("pausing: %v", err)
	}
	if st, err := restarted.State(ctx, spec); err != nil || st != vmm.StatePaused {
		t.Errorf("State of a paused VM = %q, %v; want paused", st, err)
	}
	NewClient(apiSocketPath(spec)).PatchVM(ctx, VMResumed)
	if err := restarted.Stop(ctx, spec, 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if vmm.Alive(info.PID) {
		t.Errorf("pid %d alive after Stop", info.PID)
	}
	assertStopped(t, restarted, spec)
	if err := restarted.Stop(ctx, spec, time.Second); err != nil {
		t.Errorf("Stop of a stopped VM: %v", err)
	}
	again := startFake(t, restarted, spec)
	if again.PID == info.PID || again.State != vmm.StateRunning {
		t.Errorf("Start after Stop = %+v", again)
	}
}

func assertStopped(t *testing.T, d *Driver, spec vmm.Spec) {
	t.Helper()
	ctx := testCtx(t)
	if st, err := d.State(ctx, spec); err != nil || st != vmm.StateStopped {
		t.Errorf("State = %q, %v; want stopped", st, err)
	}
	if info, err := d.Attach(ctx, spec); err != nil || info.State != vmm.StateStopped || info.PID != 0 {
		t.Errorf("Attach = %+v, %v; want stopped", info, err)
	}
	if err := d.Wait(ctx, spec); err != nil {
		t.Errorf("Wait on a stopped VM: %v", err)
	}
	if err := d.Kill(ctx, spec); err != nil {
		t.Errorf("Kill of a stopped VM: %v", err)
	}
}

// A guest that ignores Ctrl+Alt+Del is killed once the grace is over.
func TestStopIgnoredCtrlAltDel(t *testing.T) {
	t.Setenv(fakeCADEnv, "ignore")
	d, spec := fakeDriver(t), fakeSpec(t)
	info := startFake(t, d, spec)
	if err := d.Stop(testCtx(t), spec, 300*time.Millisecond); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if vmm.Alive(info.PID) {
		t.Errorf("pid %d alive after Stop", info.PID)
	}
	calls := fakeCalls(t, spec.RunDir)
	if !slices.ContainsFunc(calls, func(c call) bool { return string(c.Body) == `{"action_type":"SendCtrlAltDel"}` }) {
		t.Errorf("Stop sent no Ctrl+Alt+Del: %q", callNames(calls))
	}
	assertValid(t, calls)
	assertStopped(t, d, spec)
}

// A Stop whose caller gives up does not fall back to SIGKILL.
func TestStopCancelledDoesNotKill(t *testing.T) {
	t.Setenv(fakeCADEnv, "ignore")
	d, spec := fakeDriver(t), fakeSpec(t)
	info := startFake(t, d, spec)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Stop(ctx, spec, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop with a cancelled context = %v, want context.Canceled", err)
	}
	if !vmm.Alive(info.PID) {
		t.Errorf("pid %d was killed by a cancelled Stop", info.PID)
	}
}

// A Firecracker killed with SIGKILL leaves its pid file and sockets
// behind; the driver still reports it stopped and starts it again.
func TestStartAfterKill(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	ctx := testCtx(t)
	info := startFake(t, d, spec)
	if err := d.Kill(ctx, spec); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if vmm.Alive(info.PID) {
		t.Errorf("pid %d alive after Kill", info.PID)
	}
	assertStopped(t, d, spec) // the pid file stays behind after SIGKILL
	// So do the API and vsock sockets: a new Start must clear them.
	for _, sock := range []string{apiSocketPath(spec), spec.AgentSocket} {
		if _, err := os.Lstat(sock); err != nil {
			t.Fatalf("after SIGKILL: %v; the test no longer covers stale sockets", err)
		}
	}
	if again := startFake(t, d, spec); again.State != vmm.StateRunning {
		t.Errorf("Start after Kill = %+v", again)
	}
}

// A Firecracker that died behind the driver's back reports stopped.
func TestDeadVMMReportsStopped(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	info := startFake(t, d, spec)
	if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := vmm.WaitGone(testCtx(t), info.PID); err != nil {
		t.Fatal(err)
	}
	assertStopped(t, &Driver{Binary: d.Binary}, spec)
}

// A pid file naming a live process that is not this VM's Firecracker (a
// recycled pid) must be left alone.
func TestRecycledPidIsNotKilled(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	if err := vmm.WritePIDFile(filepath.Join(spec.RunDir, "firecracker.pid"), os.Getpid()); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := d.Kill(ctx, spec); err != nil {
		t.Errorf("Kill: %v", err)
	}
	if err := d.Stop(ctx, spec, time.Second); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if st, err := d.State(ctx, spec); err != nil || st != vmm.StateStopped {
		t.Errorf("State = %q, %v; want stopped", st, err)
	}
	// Still here: the test process was not signalled.
}

// Firecracker refusing a call fails Start with its fault_message and the
// call, and leaves no process behind.
func TestStartFault(t *testing.T) {
	const msg = "Invalid kernel path: No such file or directory (os error 2)"
	t.Setenv(fakeFaultEnv, "PUT /boot-source="+msg)
	d, spec := fakeDriver(t), fakeSpec(t)
	_, err := d.Start(testCtx(t), spec)
	if err == nil || !strings.Contains(err.Error(), "firecracker: PUT /boot-source: 400: "+msg) {
		t.Fatalf("Start = %v, want the call and its fault_message", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Errorf("Start's error %v carries no APIError", err)
	}
	if pid := fakePID(t, spec.RunDir); vmm.Alive(pid) {
		t.Errorf("the failed Start left firecracker pid %d running", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if calls := callNames(fakeCalls(t, spec.RunDir)); slices.Contains(calls, "PUT /actions") {
		t.Errorf("calls went on after the fault: %q", calls)
	}
	assertStopped(t, d, spec)
}

func TestStartReportsExit(t *testing.T) {
	t.Setenv(fakeFailEnv, "Failed to open the API socket: Address in use (os error 98)")
	d, spec := fakeDriver(t), fakeSpec(t)
	_, err := d.Start(testCtx(t), spec)
	if err == nil || !strings.Contains(err.Error(), "firecracker exited") || !strings.Contains(err.Error(), "Address in use") {
		t.Errorf("Start of a failing firecracker: %v, want the tail of its log", err)
	}
}

// A socket that something still serves is not taken over.
func TestStartRefusesServedSocket(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	f := newFakeAPI(testSpec(t))
	srv, err := f.serve(spec.AgentSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, err = d.Start(testCtx(t), spec)
	if errdefs.KindOf(err) != errdefs.KindFailedPrecondition || !strings.Contains(err.Error(), spec.AgentSocket) {
		t.Errorf("Start with a served agent socket = %v, want a failed precondition naming it", err)
	}
	if _, err := os.Stat(filepath.Join(spec.RunDir, fakePIDName)); err == nil {
		t.Error("Start spawned firecracker anyway")
	}
}

func TestStartValidates(t *testing.T) {
	d := fakeDriver(t)
	cases := []struct {
		field string
		edit  func(*vmm.Spec)
	}{
		{"Kernel", func(s *vmm.Spec) { s.Kernel += ".missing" }},
		{"bzImage", func(s *vmm.Spec) { os.WriteFile(s.Kernel, []byte("MZ\x00\x00"), 0o644) }},
		{"Initrd", func(s *vmm.Spec) { s.Initrd = "" }},
		{"disk root", func(s *vmm.Spec) { s.Disks[0].Path += ".missing" }},
		{"qcow2", func(s *vmm.Spec) { s.Disks[1].Format = "qcow2" }},
		{"used twice", func(s *vmm.Spec) { s.Disks[1].ID = "root" }},
		{"tap", func(s *vmm.Spec) { s.NICs[0].Tap = "" }},
		{"RunDir", func(s *vmm.Spec) { s.RunDir += ".missing" }},
		{"AgentSocket", func(s *vmm.Spec) { s.AgentSocket = "" }},
		{"VCPU", func(s *vmm.Spec) { s.VCPU = 0 }},
		{"VCPU", func(s *vmm.Spec) { s.VCPU = 33 }},
		{"MemoryMiB", func(s *vmm.Spec) { s.MemoryMiB = -1 }},
	}
	for _, c := range cases {
		spec := fakeSpec(t)
		c.edit(&spec)
		_, err := d.Start(testCtx(t), spec)
		if errdefs.KindOf(err) != errdefs.KindInvalidArgument || !strings.Contains(err.Error(), c.field) {
			t.Errorf("Start with a bad %s: %v, want an invalid argument naming it", c.field, err)
		}
	}
}

func TestOwnsProcess(t *testing.T) {
	const runDir = "/run/banger/vm/ab12"
	cases := []struct {
		name    string
		cmdline []string
		want    bool
	}{
		{"ours", []string{"/usr/bin/firecracker", "--api-sock", runDir + "/firecracker.sock", "--id", "dev"}, true},
		{"other VM", []string{"firecracker", "--api-sock", "/run/banger/vm/cd34/firecracker.sock"}, false},
		{"recycled pid", []string{"/usr/bin/sleep", "--api-sock", runDir + "/firecracker.sock"}, false},
		{"firecracker in an argument only", []string{"/bin/sh", "firecracker", "--api-sock", runDir + "/firecracker.sock"}, false},
		{"no api socket", []string{"firecracker", "--id", "dev"}, false},
		{"empty (zombie)", nil, false},
	}
	for _, c := range cases {
		if got := ownsProcess(c.cmdline, runDir); got != c.want {
			t.Errorf("%s: ownsProcess(%q) = %v, want %v", c.name, c.cmdline, got, c.want)
		}
	}
}

func TestInstanceID(t *testing.T) {
	cases := map[string]string{
		"dev":                   "dev",
		"my_vm.1":               "my-vm-1",
		"":                      "banger-vm",
		strings.Repeat("a", 70): strings.Repeat("a", 64),
	}
	for name, want := range cases {
		if got := instanceID(name); got != want {
			t.Errorf("instanceID(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestSaveAndRestore saves a running VM and restores the snapshot into
// another Firecracker with other taps, disks and sockets, in the order
// Firecracker needs: load paused, repoint the writable drives, resume.
func TestSaveAndRestore(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	ctx := testCtx(t)
	startFake(t, d, spec)
	state := filepath.Join(t.TempDir(), "state")
	if err := d.SaveState(ctx, spec, state); err != nil {
		t.Fatalf("SaveState: %v", err)
	}
	calls := configCalls(fakeCalls(t, spec.RunDir))
	if n := len(calls); n < 2 || calls[n-2].Call != "PATCH /vm" || calls[n-1].Call != "PUT /snapshot/create" {
		t.Fatalf("save calls end %v, want PATCH /vm then PUT /snapshot/create", calls)
	}
	if err := d.Resume(ctx, spec); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	calls = configCalls(fakeCalls(t, spec.RunDir))
	if last := calls[len(calls)-1]; last.Call != "PATCH /vm" || !strings.Contains(string(last.Body), `"Resumed"`) || last.Invalid != "" {
		t.Fatalf("resume call %+v, want PATCH /vm Resumed", last)
	}
	d.Kill(ctx, spec)

	clone := fakeSpec(t)
	clone.Name = "clone"
	clone.NICs[0].Tap = "bg-clone"
	info, err := d.Restore(ctx, clone, state)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), clone) })
	if info.State != vmm.StateRunning {
		t.Errorf("Restore = %+v", info)
	}
	var got []string
	for _, c := range configCalls(fakeCalls(t, clone.RunDir)) {
		if c.Invalid != "" {
			t.Errorf("%s broke the API spec: %s", c.Call, c.Invalid)
		}
		got = append(got, c.Call)
	}
	want := []string{"PUT /snapshot/load", "PATCH /drives/work", "PATCH /vm"}
	if !slices.Equal(got, want) {
		t.Fatalf("restore calls %q, want %q", got, want)
	}
	// The guest's memory is the saved file itself, mapped privately by
	// Firecracker (backend "File": pages load lazily and stay shared with
	// every clone of the same template), never a copy of it.
	load := configCalls(fakeCalls(t, clone.RunDir))[0]
	for _, s := range []string{`"host_dev_name":"bg-clone"`, `"uds_path":"` + clone.AgentSocket + `"`, `"backend_type":"File"`, `"backend_path":"` + state + `"`} {
		if !strings.Contains(string(load.Body), s) {
			t.Errorf("snapshot load body %s lacks %s", load.Body, s)
		}
	}
	if _, err := d.Restore(ctx, fakeSpec(t), filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "saved state") {
		t.Errorf("Restore from a missing snapshot: %v", err)
	}
}
