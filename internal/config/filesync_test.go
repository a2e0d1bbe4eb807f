package config

import (
	"io/fs"
	"testing"
)

func TestFileMode(t *testing.T) {
	tests := []struct {
		mode string
		want fs.FileMode
		ok   bool
	}{
		{"", 0, false},
		{"0600", 0o600, true},
		{"755", 0o755, true},
		{"4755", fs.ModeSetuid | 0o755, true},
		{"2750", fs.ModeSetgid | 0o750, true},
		{"1777", fs.ModeSticky | 0o777, true},
		{"999", 0, false},
	}
	for _, tt := range tests {
		c := &Config{FileSync: []FileSync{{Mode: tt.mode}}}
		got, ok := c.FileModeFor(0)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FileModeFor(mode %q) = %v, %t; want %v, %t", tt.mode, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGuestPath(t *testing.T) {
	tests := map[string]string{
		"~/.aws":             "/root/.aws",
		"~/.config/gh/":      "/root/.config/gh",
		"/root/bin//x":       "/root/bin/x",
		"~/a/../b":           "/root/b",
		"/root/a/./b/../c/d": "/root/a/c/d",
	}
	for in, want := range tests {
		if got := (FileSync{Guest: in}).GuestPath(); got != want {
			t.Errorf("GuestPath(%q) = %q, want %q", in, got, want)
		}
	}
}
