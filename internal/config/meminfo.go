package config

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// readMemTotal returns MemTotal from a meminfo file in bytes, or 0.
func readMemTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	return parseMemTotal(f)
}

// parseMemTotal finds the "MemTotal: N kB" line of /proc/meminfo and
// returns N in bytes, or 0 when it is missing or malformed.
func parseMemTotal(r io.Reader) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb <= 0 || kb > (1<<53) {
			return 0
		}
		return kb * 1024
	}
	return 0
}
