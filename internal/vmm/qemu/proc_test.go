package qemu

import "testing"

func TestOwnsProcess(t *testing.T) {
	const runDir = "/run/banger/vms/dev"
	cases := []struct {
		name    string
		cmdline []string
		want    bool
	}{
		{"ours", []string{"/usr/bin/qemu-system-x86_64", "-M", "microvm", "-pidfile", runDir + "/qemu.pid"}, true},
		{"other VM", []string{"qemu-system-x86_64", "-pidfile", "/run/banger/vms/other/qemu.pid"}, false},
		{"recycled pid", []string{"/usr/bin/sleep", "-pidfile", runDir + "/qemu.pid"}, false},
		{"qemu in an argument only", []string{"/bin/sh", "qemu", "-pidfile", runDir + "/qemu.pid"}, false},
		{"no pidfile", []string{"qemu-system-x86_64", "-M", "microvm", runDir}, false},
		{"pidfile without value", []string{"qemu-system-x86_64", "-pidfile"}, false},
		{"empty (zombie)", nil, false},
	}
	for _, c := range cases {
		if got := ownsProcess(c.cmdline, runDir); got != c.want {
			t.Errorf("%s: ownsProcess(%q) = %v, want %v", c.name, c.cmdline, got, c.want)
		}
	}
}

func TestAccelOf(t *testing.T) {
	if got := accelOf([]string{"qemu", "-accel", "tcg,thread=multi"}); got != "tcg" {
		t.Errorf("accelOf = %q, want tcg", got)
	}
	if got := accelOf([]string{"qemu", "-accel", "kvm"}); got != "kvm" {
		t.Errorf("accelOf = %q, want kvm", got)
	}
	if got := accelOf([]string{"qemu"}); got != "" {
		t.Errorf("accelOf without -accel = %q", got)
	}
}
