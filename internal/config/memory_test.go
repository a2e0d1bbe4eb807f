package config

import (
	"errors"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestParseMemoryMiB(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"4096", 4096},
		{" 512 ", 512},
		{"4G", 4096},
		{"4g", 4096},
		{"4GiB", 4096},
		{"4 GB", 4096},
		{"512M", 512},
		{"1.5G", 1536},
		{"2097152K", 2048},
		{"1073741824B", 1024},
		{"1T", 1 << 20},
	}
	for _, tt := range tests {
		got, err := ParseMemoryMiB(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMemoryMiB(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseMemoryMiBRefuses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "use a number of MiB"},
		{"lots", "use a number of MiB"},
		{"4Q", "use a number of MiB"},
		{"4.5", "use a number of MiB"},
		{"-1", "must not be negative"},
		{"-1G", "use a number of MiB"},
		{"100K", "not a whole number of MiB"},
		{"1.0000001G", "use a number of MiB"},
		{"2T", "at most 1T"},
		{"2000000", "at most 1T"},
		{"99999999999999999999", "use a number of MiB"},
	}
	for _, tt := range tests {
		_, err := ParseMemoryMiB(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ParseMemoryMiB(%q) = %v; want an invalid-argument error with %q", tt.in, err, tt.want)
		}
	}
}
