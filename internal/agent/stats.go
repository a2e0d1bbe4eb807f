package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
)

// stats reads the guest's memory, load, uptime and filesystem use. Only
// memory is required; a filesystem that cannot be read is left out.
func (s *Server) stats() (agentproto.Stats, error) {
	b, err := os.ReadFile(filepath.Join(s.opts.ProcDir, "meminfo"))
	if err != nil {
		return agentproto.Stats{}, fmt.Errorf("reading memory use: %w", err)
	}
	st := agentproto.Stats{Uptime: s.uptime(), Filesystems: []agentproto.FSUsage{}}
	if st.MemTotal, st.MemAvailable, err = parseMeminfo(b); err != nil {
		return agentproto.Stats{}, err
	}
	if b, err := os.ReadFile(filepath.Join(s.opts.ProcDir, "loadavg")); err == nil {
		st.Load = parseLoadavg(b)
	}
	for _, p := range s.opts.Filesystems {
		fs, err := statFS(p)
		if err != nil {
			s.log.Debug("statfs", "path", p, "err", err)
			continue
		}
		st.Filesystems = append(st.Filesystems, fs)
	}
	return st, nil
}

// parseMeminfo returns MemTotal and MemAvailable, in bytes, from
// /proc/meminfo's text. A kernel too old for MemAvailable (before 3.14)
// gives MemFree plus Buffers and Cached instead.
func parseMeminfo(b []byte) (total, avail uint64, err error) {
	kb := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(rest)
		if !ok || len(fields) == 0 {
			continue
		}
		if n, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
			kb[key] = n
		}
	}
	if kb["MemTotal"] == 0 {
		return 0, 0, fmt.Errorf("reading memory use: /proc/meminfo has no MemTotal")
	}
	a, ok := kb["MemAvailable"]
	if !ok {
		a = kb["MemFree"] + kb["Buffers"] + kb["Cached"]
	}
	return kb["MemTotal"] << 10, min(a, kb["MemTotal"]) << 10, nil
}

// parseLoadavg returns /proc/loadavg's three load averages; a field that
// does not parse is 0.
func parseLoadavg(b []byte) [3]float64 {
	var load [3]float64
	fields := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(fields); i++ {
		load[i], _ = strconv.ParseFloat(fields[i], 64)
	}
	return load
}

// statFS is the size and use of the filesystem holding path. Used
// counts the blocks reserved for root, as df does.
func statFS(path string) (agentproto.FSUsage, error) {
	var sf unix.Statfs_t
	if err := unix.Statfs(path, &sf); err != nil {
		return agentproto.FSUsage{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(sf.Bsize)
	return agentproto.FSUsage{
		Path:  path,
		Total: sf.Blocks * bs,
		Used:  (sf.Blocks - sf.Bfree) * bs,
		Avail: sf.Bavail * bs,
	}, nil
}

// statsAnswer answers a stats request.
func (s *Server) statsAnswer(req agentproto.Request) agentproto.Response {
	st, err := s.stats()
	if err != nil {
		return failure(req, agentproto.CodeFailed, err.Error())
	}
	return success(req, agentproto.Response{Stats: &st})
}
