package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Non-interactive shells (each E2B SDK command is bash -l -c CMD) get
// mise's shims on PATH without starting mise; an interactive bash gets
// mise's activation.
func TestMiseProfile(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// A stand-in mise that says when it was started.
	fake := "#!/bin/sh\necho \"export MISE_RAN=1\"\n"
	if err := os.WriteFile(filepath.Join(bin, "mise"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	profile := filepath.Join(dir, "banger-mise.sh")
	if err := os.WriteFile(profile, []byte(miseProfile()), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(shell string, args ...string) string {
		t.Helper()
		if _, err := exec.LookPath(shell); err != nil {
			t.Skipf("no %s here", shell)
		}
		cmd := exec.Command(shell, append(args, `. "$P"; echo "ran=${MISE_RAN:-0} path=$PATH"`)...)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir, "P=" + profile}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %v: %v", shell, args, err)
		}
		return strings.TrimSpace(string(out))
	}
	shims := filepath.Join(dir, ".local/share/mise/shims") + ":"
	for _, c := range []struct{ shell, flag string }{{"bash", "-c"}, {"sh", "-c"}} {
		if got := run(c.shell, c.flag); !strings.HasPrefix(got, "ran=0 path="+shims) {
			t.Errorf("%s %s: %q; want the shims first on PATH, mise not started", c.shell, c.flag, got)
		}
	}
	if got := run("bash", "-i", "-c"); !strings.HasPrefix(got, "ran=1 ") {
		t.Errorf("interactive bash: %q; want mise's activation", got)
	}
}
