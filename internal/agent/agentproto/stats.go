package agentproto

import (
	"math"
	"strings"
	"unicode/utf8"
)

// OpStats asks for the guest's resource use: the answer carries [Stats].
// Agents from before it answer CodeUnknownOp.
const OpStats = "stats"

// MaxFilesystems bounds Stats.Filesystems: a host keeps no more.
const MaxFilesystems = 8

// maxFSPath bounds FSUsage.Path, in bytes.
const maxFSPath = 256

// Stats is the guest's resource use as its agent sees it.
type Stats struct {
	// MemTotal and MemAvailable are bytes, from the guest's
	// /proc/meminfo; memory in use is their difference.
	MemTotal     uint64 `json:"mem_total"`
	MemAvailable uint64 `json:"mem_available"`
	// Load is the 1, 5 and 15 minute load averages.
	Load [3]float64 `json:"load"`
	// Uptime is seconds since the guest booted.
	Uptime float64 `json:"uptime"`
	// Filesystems are the use of / and /root, in that order.
	Filesystems []FSUsage `json:"filesystems"`
}

// FSUsage is one mounted filesystem's size and use, in bytes.
type FSUsage struct {
	Path  string `json:"path"`
	Total uint64 `json:"total"`
	Used  uint64 `json:"used"`
	Avail uint64 `json:"avail"`
}

// MemUsed is the memory in use, in bytes.
func (s Stats) MemUsed() uint64 { return s.MemTotal - min(s.MemAvailable, s.MemTotal) }

// Bounded is s as a host may trust it: at most MaxFilesystems
// filesystems, paths of valid UTF-8 without control characters cut to a
// bounded length, figures that
// cannot exceed their totals, and finite, non-negative loads and uptime.
// It says nothing about whether the figures are true.
func (s Stats) Bounded() Stats {
	s.MemAvailable = min(s.MemAvailable, s.MemTotal)
	for i, l := range s.Load {
		s.Load[i] = finite(l)
	}
	s.Uptime = finite(s.Uptime)
	fss := s.Filesystems[:min(len(s.Filesystems), MaxFilesystems)]
	s.Filesystems = make([]FSUsage, 0, len(fss))
	for _, fs := range fss {
		fs.Path = boundText(fs.Path, maxFSPath)
		fs.Used = min(fs.Used, fs.Total)
		fs.Avail = min(fs.Avail, fs.Total-fs.Used)
		s.Filesystems = append(s.Filesystems, fs)
	}
	return s
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return f
}

// boundText is s as valid UTF-8 of at most n bytes, cut at a character,
// with control characters (C0, DEL, C1) replaced by U+FFFD.
func boundText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
