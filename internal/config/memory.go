package config

import (
	"strconv"
	"strings"

	"banger/internal/errdefs"
)

// MaxDiskSize is the largest work disk banger will create: far beyond any
// disk a VM fills, so a larger one is a typing mistake.
const MaxDiskSize = 16 * TiB

const memoryHint = "use a number of MiB, like 4096, or a size with a unit, like 512M or 4G"

// ParseMemoryMiB reads an amount of memory as the --memory flags take it:
// a plain number is MiB, as memory_mib in the config ("4096"); a number
// with a unit is a size as ParseSize reads it ("4G", "512M", "1.5GiB"),
// which must come to whole MiB. It is at most MaxMemoryMiB.
func ParseMemoryMiB(s string) (int, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.Atoi(t); err == nil {
		return checkMemoryMiB(s, int64(n))
	}
	size, err := parseSize(t)
	if err != nil || t == "" || t[len(t)-1] >= '0' && t[len(t)-1] <= '9' {
		return 0, errdefs.InvalidArgument("invalid memory %q: %s", s, memoryHint)
	}
	if size%MiB != 0 {
		return 0, errdefs.InvalidArgument("invalid memory %q: it is not a whole number of MiB; %s", s, memoryHint)
	}
	return checkMemoryMiB(s, int64(size/MiB))
}

func checkMemoryMiB(s string, n int64) (int, error) {
	if n < 0 {
		return 0, errdefs.InvalidArgument("invalid memory %q: it must not be negative; %s", s, memoryHint)
	}
	if n > MaxMemoryMiB {
		return 0, errdefs.InvalidArgument("invalid memory %q: banger gives a VM at most %s", s, Size(MaxMemoryMiB)*MiB)
	}
	return int(n), nil
}
