package paths

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestLookTool(t *testing.T) {
	onPath, sbin := t.TempDir(), t.TempDir()
	for _, p := range []string{filepath.Join(onPath, "tool-a"), filepath.Join(sbin, "tool-b")} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sbin, "not-a-program"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", onPath)
	saved := sbinDirs
	sbinDirs = []string{sbin}
	t.Cleanup(func() { sbinDirs = saved })

	if got, err := LookTool("tool-a"); err != nil || got != filepath.Join(onPath, "tool-a") {
		t.Errorf("LookTool(tool-a) on PATH = %q, %v", got, err)
	}
	if got, err := LookTool("tool-b"); err != nil || got != filepath.Join(sbin, "tool-b") {
		t.Errorf("LookTool(tool-b) in an sbin directory = %q, %v", got, err)
	}
	for _, name := range []string{"not-a-program", "missing"} {
		_, err := LookTool(name)
		if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), sbin) {
			t.Errorf("LookTool(%s) = %v; want a failed precondition naming it and where it looked", name, err)
		}
	}
}
