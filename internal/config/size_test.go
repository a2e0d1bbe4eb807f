package config

import (
	"errors"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
	}{
		{"0", 0},
		{"123", 123},
		{"1073741824", GiB},
		{"8G", 8 * GiB},
		{"8g", 8 * GiB},
		{"512M", 512 * MiB},
		{"16GiB", 16 * GiB},
		{"16GB", 16 * GiB},
		{"16gib", 16 * GiB},
		{"16Gi", 16 * GiB},
		{"16 G", 16 * GiB},
		{" 16G ", 16 * GiB},
		{"1T", TiB},
		{"4096K", 4 * MiB},
		{"4096KB", 4 * MiB},
		{"100B", 100},
		{"1.5G", 1536 * MiB},
		{"0.5K", 512},
		{"1.25M", 1280 * KiB},
		{"7E", 7 * EiB},
		{"9223372036854775807", 1<<63 - 1},
		{"008G", 8 * GiB},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if err != nil {
			t.Errorf("ParseSize(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseSizeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `invalid size "": it is empty; use a number with a unit, like 512M, 8G or 16GiB`},
		{"   ", `invalid size "   ": it is empty;`},
		{"16Q", `invalid size "16Q": use a number with a unit, like 512M, 8G or 16GiB`},
		{"G", `invalid size "G": use a number with a unit`},
		{"-1G", `invalid size "-1G": it must not be negative;`},
		{"+1G", `invalid size "+1G": use a number with a unit`},
		{"1.G", `invalid size "1.G": use a number with a unit`},
		{".5G", `invalid size ".5G": use a number with a unit`},
		{"1.2.3G", `invalid size "1.2.3G": use a number with a unit`},
		{"1,5G", `invalid size "1,5G": use a number with a unit`},
		{"16GBB", `invalid size "16GBB": use a number with a unit`},
		{"16iB", `invalid size "16iB": use a number with a unit`},
		{"1.1K", `invalid size "1.1K": it is not a whole number of bytes; use fewer decimals or a smaller unit`},
		{"1.5", `invalid size "1.5": it is not a whole number of bytes`},
		{"8E", `invalid size "8E": it is too large; the limit is just under 8E`},
		{"9223372036854775808", `invalid size "9223372036854775808": it is too large`},
		{strings.Repeat("1", 65), `it is too long;`},
	}
	for _, tt := range tests {
		_, err := ParseSize(tt.in)
		if err == nil {
			t.Errorf("ParseSize(%q): no error, want %q", tt.in, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSize(%q) error = %q, want it to contain %q", tt.in, err, tt.want)
		}
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ParseSize(%q) error is not an invalid argument", tt.in)
		}
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{0, "0"},
		{123, "123"},
		{KiB, "1K"},
		{4 * KiB, "4K"},
		{1536 * MiB, "1536M"},
		{512 * MiB, "512M"},
		{8 * GiB, "8G"},
		{GiB + 1, "1073741825"},
		{3 * TiB, "3T"},
		{2 * PiB, "2P"},
		{7 * EiB, "7E"},
		{1<<63 - 1, "9223372036854775807"},
		{-8 * GiB, "-8G"},
		{-1 << 63, "-8E"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		if tt.in < 0 {
			continue
		}
		back, err := ParseSize(tt.want)
		if err != nil || back != tt.in {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.want, back, err, tt.in)
		}
	}
}

func TestSizeText(t *testing.T) {
	var s Size
	if err := s.UnmarshalText([]byte("16GiB")); err != nil || s != 16*GiB {
		t.Fatalf("UnmarshalText(16GiB) = %d, %v", s, err)
	}
	b, err := s.MarshalText()
	if err != nil || string(b) != "16G" {
		t.Fatalf("MarshalText() = %q, %v; want 16G", b, err)
	}
	if err := s.UnmarshalText([]byte("16Q")); err == nil || s != 16*GiB {
		t.Errorf("UnmarshalText(16Q) = %v and changed the size to %d", err, s)
	}
	if _, err := Size(-1).MarshalText(); err == nil {
		t.Errorf("MarshalText of a negative size succeeded")
	}
}

func TestSizeMiB(t *testing.T) {
	if got := (8 * GiB).MiB(); got != 8192 {
		t.Errorf("(8G).MiB() = %d, want 8192", got)
	}
	if got := (MiB + KiB).MiB(); got != 1 {
		t.Errorf("(1M+1K).MiB() = %d, want 1", got)
	}
}
