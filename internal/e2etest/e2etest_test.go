package e2etest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnmet(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "qemu-system-x86_64"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	saved := lookTool
	lookTool = func(name string) (string, error) { return exec.LookPath(name) } // PATH alone
	t.Cleanup(func() { lookTool = saved })

	t.Setenv(Env, "")
	if why := (Needs{}).Unmet(); !strings.Contains(why, "BANGER_E2E=1") {
		t.Errorf("Unmet without %s = %q, want it to say how to ask for the test", Env, why)
	}
	t.Setenv(Env, "1")
	if why := (Needs{Tools: []Tool{QEMU}}).Unmet(); why != "" {
		t.Errorf("Unmet with qemu on PATH = %q, want none", why)
	}
	if why := (Needs{Tools: []Tool{QEMU}}).With(Mkfs).Unmet(); !strings.Contains(why, "mkfs.ext4") || !strings.Contains(why, "apt-get install e2fsprogs") {
		t.Errorf("Unmet without mkfs.ext4 = %q, want it named with how to install it", why)
	}
	if os.Geteuid() != 0 {
		if why := (Needs{Root: true}).Unmet(); !strings.Contains(why, "not root") {
			t.Errorf("Unmet needing root as uid %d = %q", os.Geteuid(), why)
		}
	}
}

func TestWithLeavesTheOriginal(t *testing.T) {
	a := Boot.With(Debugfs)
	b := Boot.With(E2fsck)
	if len(Boot.Tools) != 6 || a.Tools[6] != Debugfs || b.Tools[6] != E2fsck {
		t.Errorf("With changed what another Needs holds: Boot %v, a %v, b %v", Boot.Tools, a.Tools, b.Tools)
	}
}
