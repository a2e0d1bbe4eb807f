package workspace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runGuestScript runs GuestScript on this host with the guest's /root
// moved to a temp dir, and a mise that logs its arguments, trusts
// anything and installs with status miseStatus (no mise at all when
// miseStatus < 0).
func runGuestScript(t *testing.T, s Source, command string, miseStatus int) (home string, out string, code int) {
	t.Helper()
	home = t.TempDir()
	bin := t.TempDir()
	if miseStatus >= 0 {
		write(t, filepath.Join(bin, "mise"), "#!/bin/sh\necho \"fake mise $*\"\n[ \"$1\" = install ] && exit "+strconv.Itoa(miseStatus)+"\nexit 0\n", 0o755)
	}
	must(t, os.MkdirAll(filepath.Join(home, s.Name, "src"), 0o755))
	write(t, filepath.Join(home, s.Name, ".mise.toml"), "[tools]\n", 0o644)
	script := strings.ReplaceAll(GuestScript(s, command), "'"+GuestHome, "'"+home)
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + home, "SHELL=/bin/echo"}
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return home, string(b), code
}

func TestGuestScriptCommandMode(t *testing.T) {
	s := Source{Name: "it's a repo", Sub: "src"}
	home, out, code := runGuestScript(t, s, `pwd; echo "PATH=$PATH"; exit 7`, 0)
	if code != 7 {
		t.Errorf("status %d, want the command's 7; output:\n%s", code, out)
	}
	if !strings.Contains(out, filepath.Join(home, s.Name, "src")+"\n") {
		t.Errorf("the command did not run in the repository's directory:\n%s", out)
	}
	if !strings.Contains(out, home+"/.local/share/mise/shims:") {
		t.Errorf("mise's shims are not on the command's PATH:\n%s", out)
	}
	logPath := strings.Replace(s.ToolingLog(), GuestHome, home, 1)
	if !strings.Contains(out, "log: "+logPath) {
		t.Errorf("the user is not told where the log is:\n%s", out)
	}
	log, err := os.ReadFile(logPath)
	if err != nil || !strings.Contains(string(log), "fake mise trust --all\nfake mise install") || !strings.Contains(string(log), "exited with status 0") {
		t.Errorf("tooling log %q: %v", log, err)
	}
}

func TestGuestScriptToolingNeverFailsTheRun(t *testing.T) {
	s := Source{Name: "repo"}
	for _, tt := range []struct {
		mise       int
		say, inLog string
	}{
		{-1, "mise is not installed", "mise is not installed in this guest"},
		{4, "installing the tools failed", "exited with status 4"},
	} {
		home, out, code := runGuestScript(t, s, "echo ran", tt.mise)
		if code != 0 || !strings.Contains(out, "ran\n") || !strings.Contains(out, tt.say) {
			t.Errorf("mise status %d: exit %d, output:\n%s", tt.mise, code, out)
		}
		log, _ := os.ReadFile(strings.Replace(s.ToolingLog(), GuestHome, home, 1))
		if !strings.Contains(string(log), tt.inLog) {
			t.Errorf("mise status %d: log %q lacks %q", tt.mise, log, tt.inLog)
		}
	}
}

func TestGuestScriptShellMode(t *testing.T) {
	s := Source{Name: "repo"}
	home, out, code := runGuestScript(t, s, "", 0)
	// SHELL is echo here: the shell is exec'd with -l at once.
	if code != 0 || !strings.Contains(out, "-l\n") || !strings.Contains(out, "in the background") {
		t.Errorf("shell mode: exit %d, output:\n%s", code, out)
	}
	logPath := strings.Replace(s.ToolingLog(), GuestHome, home, 1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, _ := os.ReadFile(logPath)
		if strings.Contains(string(log), "exited with status 0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background bootstrap did not finish within 10s; log: %q", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
