package vmm

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ClockTicks is the unit of /proc/PID/stat's CPU times (USER_HZ), fixed
// at 100 by Linux's ABI on every architecture banger runs on.
const ClockTicks = 100

// Usage is what a VMM process costs the host, from procfs.
type Usage struct {
	// CPUTicks is the user plus system CPU time the process has used, in
	// ClockTicks.
	CPUTicks uint64
	// RSS is its resident memory and PSS its proportional share of it, in
	// bytes; PSS is 0 when the kernel does not say (no smaps_rollup).
	RSS, PSS uint64
}

// ReadUsage reads process pid's usage from the procfs mounted at procDir.
func ReadUsage(procDir string, pid int) (Usage, error) {
	dir := filepath.Join(procDir, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Usage{}, fmt.Errorf("reading CPU time of pid %d: %w", pid, err)
	}
	var u Usage
	if u.CPUTicks, err = parseStatCPU(stat); err != nil {
		return Usage{}, fmt.Errorf("reading CPU time of pid %d: %w", pid, err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return Usage{}, fmt.Errorf("reading memory of pid %d: %w", pid, err)
	}
	if u.RSS, err = kBField(status, "VmRSS"); err != nil {
		return Usage{}, fmt.Errorf("reading memory of pid %d: %w", pid, err)
	}
	if rollup, err := os.ReadFile(filepath.Join(dir, "smaps_rollup")); err == nil {
		u.PSS, _ = kBField(rollup, "Pss")
	}
	return u, nil
}

// parseStatCPU returns utime plus stime from /proc/PID/stat's text. The
// command name, in parentheses, may hold spaces and parentheses itself,
// so the fields are counted from the last ")".
func parseStatCPU(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat has no command name")
	}
	// After ") ": state (field 3) ... utime is field 14, stime field 15.
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat has %d fields after the command name, want at least 13", len(fields))
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat's utime %q and stime %q are not numbers", fields[11], fields[12])
	}
	return utime + stime, nil
}

// kBField returns the "Key:   N kB" line's N in bytes, from
// /proc/PID/status or smaps_rollup text.
func kBField(b []byte, key string) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			break
		}
		n, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q is not a number", key, fields[0])
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("no %s line", key)
}
