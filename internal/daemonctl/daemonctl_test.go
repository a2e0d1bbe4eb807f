package daemonctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/paths"
)

// testDirs are banger's directories under a temp dir, with a short
// runtime dir for the socket.
func testDirs(t *testing.T) paths.Dirs {
	t.Helper()
	dir := t.TempDir()
	run, err := os.MkdirTemp("", "bgc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	return paths.Dirs{Config: dir + "/config", State: dir + "/state", Cache: dir + "/cache", Runtime: run + "/banger"}
}

// TestStartFailureShowsLogTail: a daemon that exits at once leaves the
// last lines it logged in the error, not the lines of earlier runs, then
// where the whole log is.
func TestStartFailureShowsLogTail(t *testing.T) {
	dirs := testDirs(t)
	if err := os.MkdirAll(dirs.State, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dirs.LogFile(), []byte("an earlier run's line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "bangerd")
	body := "#!/bin/sh\nfor i in $(seq 1 20); do echo \"line $i\"; done\necho 'bangerd: opening store: disk full' >&2\nexit 1\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(DaemonBinEnv, script)
	err := New(dirs).Start(context.Background())
	if !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Start = %v, want unavailable", err)
	}
	msg := err.Error()
	for _, want := range []string{"cannot start bangerd: it exited (exit status 1)", "\n  line 7\n", "\n  bangerd: opening store: disk full\n", dirs.LogFile()} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, not := range []string{"line 6\n", "earlier run"} {
		if strings.Contains(msg, not) {
			t.Errorf("error has %q, beyond the last %d lines of this run:\n%s", not, tailLines, msg)
		}
	}
}

func TestLogTailBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	long := strings.Repeat("é", tailLineMax)
	old := strings.Repeat("x", tailReadMax) + "\n"
	if err := os.WriteFile(path, []byte(old+"first\n\n"+long+"\nlast\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := logTail(path, int64(len(old)))
	want := "  first\n  " + strings.Repeat("é", tailLineMax/2) + tailEllipsis + "\n  last"
	if got != want {
		t.Fatalf("logTail = %q\nwant %q", got, want)
	}
	// Read from the end only: a partial first line is dropped.
	if got := logTail(path, 0); strings.Contains(got, "xxx") || !strings.HasSuffix(got, "  last") {
		t.Fatalf("logTail from 0 = %q", got)
	}
	if got := logTail(path, 1<<40); got == "" {
		t.Fatal("logTail after the log was cut short = \"\", want its end")
	}
	if got := logTail(filepath.Join(t.TempDir(), "none"), 0); got != "" {
		t.Fatalf("logTail of a missing log = %q", got)
	}
}

// TestRuntimeDirIsAFile: when the runtime dir is a file, commands say so
// and how to fix it, instead of a dial error.
func TestRuntimeDirIsAFile(t *testing.T) {
	dirs := testDirs(t)
	if err := os.WriteFile(dirs.Runtime, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c := New(dirs)
	calls := 0
	err := c.Call(context.Background(), func(cl *client.Client) error {
		calls++
		_, err := cl.ListVMs(context.Background())
		return err
	})
	want := fmt.Sprintf("runtime dir %s is a file, not a directory", dirs.Runtime)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") || strings.Contains(err.Error(), "dial") {
		t.Fatalf("Call = %v, want %q with its fix", err, want)
	}
	if calls != 1 {
		t.Errorf("fn ran %d times, want once", calls)
	}
	if _, err := c.Info(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Info = %v, want %q", err, want)
	}
}
