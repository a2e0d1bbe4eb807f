package agentproto

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStatsBoundedKeepsWhatAHostCanTrust(t *testing.T) {
	fss := make([]FSUsage, 100)
	for i := range fss {
		fss[i] = FSUsage{Path: strings.Repeat("é", 1000) + "\xff", Total: 10, Used: 50, Avail: 50}
	}
	s := Stats{MemTotal: 100, MemAvailable: 500, Load: [3]float64{math.NaN(), -1, math.Inf(1)}, Uptime: math.NaN(), Filesystems: fss}.Bounded()
	if len(s.Filesystems) != MaxFilesystems {
		t.Fatalf("kept %d filesystems, want %d", len(s.Filesystems), MaxFilesystems)
	}
	fs := s.Filesystems[0]
	if len(fs.Path) > maxFSPath || !utf8.ValidString(fs.Path) || !strings.HasPrefix(fs.Path, "é") {
		t.Errorf("path cut to %d bytes (valid %v), want a valid prefix of at most %d", len(fs.Path), utf8.ValidString(fs.Path), maxFSPath)
	}
	if fs.Used != 10 || fs.Avail != 0 {
		t.Errorf("filesystem used %d avail %d of total 10, want 10 and 0", fs.Used, fs.Avail)
	}
	if p := (Stats{Filesystems: []FSUsage{{Path: "/\x1b]0;x\x07\u009b2J"}}}).Bounded().Filesystems[0].Path; p != "/\uFFFD]0;x\uFFFD\uFFFD2J" {
		t.Errorf("path with control characters = %q; want them replaced", p)
	}
	if s.MemAvailable != 100 || s.MemUsed() != 0 {
		t.Errorf("memory available %d used %d of 100, want 100 and 0", s.MemAvailable, s.MemUsed())
	}
	if s.Load != [3]float64{} || s.Uptime != 0 {
		t.Errorf("load %v uptime %v, want zeros for NaN, negative and infinite figures", s.Load, s.Uptime)
	}
}

func TestStatsBoundedKeepsSaneFigures(t *testing.T) {
	in := Stats{MemTotal: 1 << 30, MemAvailable: 1 << 29, Load: [3]float64{0.5, 1, 2}, Uptime: 12.5,
		Filesystems: []FSUsage{{Path: "/", Total: 100, Used: 40, Avail: 55}}}
	out := in.Bounded()
	if out.MemUsed() != 1<<29 || out.Load != in.Load || out.Uptime != 12.5 || out.Filesystems[0] != in.Filesystems[0] {
		t.Errorf("Bounded changed sane figures: %+v", out)
	}
}
