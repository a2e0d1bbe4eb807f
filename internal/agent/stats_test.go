package agent

import (
	"errors"
	"path/filepath"
	"testing"

	"banger/internal/errdefs"
)

const meminfoFixture = `MemTotal:        2014256 kB
MemFree:          612340 kB
MemAvailable:    1507332 kB
Buffers:           40960 kB
Cached:           800000 kB
HugePages_Total:       0
`

func TestParseMeminfo(t *testing.T) {
	total, avail, err := parseMeminfo([]byte(meminfoFixture))
	if err != nil || total != 2014256<<10 || avail != 1507332<<10 {
		t.Errorf("parseMeminfo = %d, %d, %v; want %d, %d", total, avail, err, 2014256<<10, 1507332<<10)
	}
	// A kernel before MemAvailable: free plus buffers plus page cache.
	total, avail, err = parseMeminfo([]byte("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n"))
	if err != nil || total != 1000<<10 || avail != 420<<10 {
		t.Errorf("parseMeminfo without MemAvailable = %d, %d, %v; want %d, %d", total, avail, err, 1000<<10, 420<<10)
	}
	if _, _, err := parseMeminfo([]byte("garbage\n\x1b[2J: lots\n")); err == nil {
		t.Error("parseMeminfo of text without MemTotal succeeded; want an error")
	}
}

func TestParseLoadavg(t *testing.T) {
	if got := parseLoadavg([]byte("0.52 1.10 2.00 3/187 4242\n")); got != [3]float64{0.52, 1.10, 2.00} {
		t.Errorf("parseLoadavg = %v; want [0.52 1.1 2]", got)
	}
	if got := parseLoadavg([]byte("x\n")); got != [3]float64{} {
		t.Errorf("parseLoadavg of garbage = %v; want zeros", got)
	}
}

func TestStatsOverTheMux(t *testing.T) {
	opts := execOptions(t)
	writeFile(t, filepath.Join(opts.ProcDir, "meminfo"), meminfoFixture)
	writeFile(t, filepath.Join(opts.ProcDir, "loadavg"), "0.52 1.10 2.00 3/187 4242\n")
	work := t.TempDir()
	opts.Filesystems = []string{work, filepath.Join(work, "missing")}
	m, _ := muxHost(t, opts)
	st, err := m.Stats(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.MemTotal != 2014256<<10 || st.MemUsed() != (2014256-1507332)<<10 {
		t.Errorf("memory total %d used %d; want the fixture's", st.MemTotal, st.MemUsed())
	}
	if st.Load[0] != 0.52 || st.Uptime != 12.5 {
		t.Errorf("load %v uptime %v; want 0.52 first and 12.5", st.Load, st.Uptime)
	}
	if len(st.Filesystems) != 1 || st.Filesystems[0].Path != work || st.Filesystems[0].Total == 0 {
		t.Errorf("filesystems = %+v; want only %s, with a size (the missing path left out)", st.Filesystems, work)
	}
}

func TestStatsWithoutMeminfoFails(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	_, err := m.Stats(testCtx(t))
	if err == nil || errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("Stats without /proc/meminfo = %v; want a failure that is not an old agent's", err)
	}
}
