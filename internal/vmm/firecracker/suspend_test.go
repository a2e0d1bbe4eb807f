package firecracker

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"banger/internal/vmm"
)

// A suspend saves a VM, kills its Firecracker without resuming it, and
// later restores the state into the same machine: the same run dir (its
// stale sockets and pid file left by the kill), taps and disks. Every call
// on the way keeps to the API spec.
func TestSuspendThenRestoreInPlace(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	ctx := testCtx(t)
	startFake(t, d, spec)
	state := filepath.Join(t.TempDir(), "suspend.state")
	if err := d.SaveState(ctx, spec, state); err != nil {
		t.Fatalf("SaveState: %v", err)
	}
	if err := d.Kill(ctx, spec); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if st, _ := d.State(ctx, spec); st != vmm.StateStopped {
		t.Fatalf("after the kill the VM is %s, want stopped", st)
	}
	info, err := d.Restore(ctx, spec, state)
	if err != nil {
		t.Fatalf("Restore in place: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), spec) })
	if info.State != vmm.StateRunning {
		t.Errorf("Restore = %+v, want running", info)
	}
	var got []string
	calls := configCalls(fakeCalls(t, spec.RunDir))
	for _, c := range calls {
		if c.Invalid != "" {
			t.Errorf("%s broke the API spec: %s", c.Call, c.Invalid)
		}
		got = append(got, c.Call)
	}
	want := []string{"PUT /snapshot/load", "PATCH /drives/work", "PATCH /vm"}
	if len(got) < len(want) || !slices.Equal(got[len(got)-len(want):], want) {
		t.Fatalf("restore calls end %q, want %q", got, want)
	}
	load := calls[len(calls)-len(want)]
	for _, s := range []string{`"host_dev_name":"` + spec.NICs[0].Tap + `"`, `"uds_path":"` + spec.AgentSocket + `"`} {
		if !strings.Contains(string(load.Body), s) {
			t.Errorf("snapshot load body %s lacks %s", load.Body, s)
		}
	}
}
