package vm

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"banger/internal/errdefs"
)

// fakeProc writes procfs files for VM name's fake VMM process under a
// temp dir, points the manager's usage readings there, and returns the
// pid. ticks is the process's CPU time so far.
func (h *mtHarness) fakeProc(name string, ticks int) int {
	h.t.Helper()
	info, err := h.drv.Attach(h.ctx, h.m.layout.runSpec(h.get(name)))
	if err != nil {
		h.t.Fatal(err)
	}
	proc := h.t.TempDir()
	dir := filepath.Join(proc, strconv.Itoa(info.PID))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	stat := strconv.Itoa(info.PID) + " (qemu-system-x86) S 1 1 1 0 -1 0 0 0 0 0 " + strconv.Itoa(ticks) + " 0 0 0 20 0 3 0 100 0 0\n"
	for file, text := range map[string]string{"stat": stat, "status": "Name:\tqemu\nVmRSS:\t  204800 kB\n", "smaps_rollup": "Pss:  102400 kB\n"} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	h.m.usage.procDir = proc
	return info.PID
}

func TestStatsOfARunningVM(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("box", true)
	pid := h.fakeProc("box", 0)
	st, err := h.m.Stats(h.ctx, "box")
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "box" || st.VMM.PID != pid || st.VMM.RSS != 204800<<10 || st.VMM.PSS != 102400<<10 {
		t.Errorf("VMM figures = %+v; want pid %d and the fake procfs's memory", st.VMM, pid)
	}
	if st.VMM.DiskBytes == 0 {
		t.Error("disk bytes = 0; want the allocated size of the VM's disks")
	}
	g := st.Guest
	if g == nil {
		t.Fatalf("no guest figures: %s", st.GuestError)
	}
	if g.MemTotal != 1<<30 || g.MemUsed() != 256<<20 || g.Load[0] != 0.25 || g.Uptime != 1 || len(g.Filesystems) != 1 {
		t.Errorf("guest figures = %+v; want the fake guest's 1 GiB, 256 MiB used, load 0.25, uptime 1, one filesystem", g)
	}
}

// A guest that cannot give its figures leaves them out, with the reason;
// the host's figures still come.
func TestStatsWithoutGuestFigures(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("box", true)
	pid := h.fakeProc("box", 0)
	meminfo, _ := filepath.Glob(filepath.Join(h.drv.tmp, "vmmtest-guest-*", "proc", "meminfo"))
	if len(meminfo) != 1 {
		t.Fatalf("found %d fake guests' meminfo, want 1", len(meminfo))
	}
	os.Remove(meminfo[0])
	st, err := h.m.Stats(h.ctx, "box")
	if err != nil {
		t.Fatal(err)
	}
	if st.Guest != nil || !strings.Contains(st.GuestError, "reading memory use") {
		t.Errorf("guest figures %+v, error %q; want none, with the agent's reason", st.Guest, st.GuestError)
	}
	if st.VMM.PID != pid || st.VMM.RSS == 0 {
		t.Errorf("VMM figures = %+v; want them despite the guest", st.VMM)
	}
}

// A VM polled again gets the CPU use since its last reading.
func TestStatsCPUSinceTheLastReading(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("box", true)
	pid := h.fakeProc("box", 50)
	h.m.usage.keep(v.VID, cpuSample{pid: pid, ticks: 0, at: time.Now().Add(-time.Second)})
	st, err := h.m.Stats(h.ctx, "box")
	if err != nil {
		t.Fatal(err)
	}
	// 50 ticks are half a second of CPU, over at least a second.
	if st.VMM.CPUPercent <= 0 || st.VMM.CPUPercent > 50 {
		t.Errorf("CPU = %.1f%%; want above 0 and at most 50", st.VMM.CPUPercent)
	}
}

func TestStatsOfAStoppedOrMissingVM(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("box", true)
	if _, err := h.m.Stop(h.ctx, "box"); err != nil {
		t.Fatal(err)
	}
	_, err := h.m.Stats(h.ctx, "box")
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "banger vm start box") {
		t.Errorf("Stats of a stopped VM = %v; want a failed precondition saying to start it", err)
	}
	if _, err := h.m.Stats(h.ctx, "nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Stats of a missing VM = %v; want not found", err)
	}
}
