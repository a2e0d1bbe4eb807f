package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// hermetic points every XDG directory at a temp dir.
func hermetic(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir+"/home")
	t.Setenv("XDG_CONFIG_HOME", dir+"/config")
	t.Setenv("XDG_STATE_HOME", dir+"/state")
	t.Setenv("XDG_CACHE_HOME", dir+"/cache")
	t.Setenv("XDG_RUNTIME_DIR", dir+"/run")
	t.Setenv("BANGER_DAEMON_BIN", "/nonexistent/bangerd")
}

func TestEveryCommandHasHelp(t *testing.T) {
	hermetic(t)
	root := newRoot(newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}))
	var walk func(*cobra.Command)
	count := 0
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || strings.HasPrefix(c.Name(), "__") {
			return
		}
		count++
		if strings.TrimSpace(c.Short) == "" {
			t.Errorf("%q has no short help", c.CommandPath())
		}
		if strings.TrimSpace(c.Long) == "" {
			t.Errorf("%q has no long help", c.CommandPath())
		}
		if c.Runnable() && c.Args == nil {
			t.Errorf("%q does not declare which arguments it takes", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if count < 15 {
		t.Fatalf("walked only %d commands; is the tree wired up?", count)
	}
}

func TestVMRunOwnFailuresExit125(t *testing.T) {
	hermetic(t)
	var stderr bytes.Buffer
	err := Run(context.Background(), []string{"vm", "run", "--vcpu", "0"}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	if err == nil {
		t.Fatal("vm run --vcpu 0 succeeded")
	}
	if code := Report(&stderr, err); code != 125 {
		t.Fatalf("exit status = %d, want 125", code)
	}
	if !strings.Contains(stderr.String(), "at least 1 vcpu") {
		t.Fatalf("stderr = %q, want the reason", stderr.String())
	}
}

func TestVMRunRejectsTwoPaths(t *testing.T) {
	hermetic(t)
	err := Run(context.Background(), []string{"vm", "run", "a", "b"}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	if code := Report(&bytes.Buffer{}, err); code != 125 || !strings.Contains(err.Error(), "at most one PATH") {
		t.Fatalf("err = %v (exit %d), want a 125 about PATH", err, code)
	}
}

func TestReport(t *testing.T) {
	var buf bytes.Buffer
	if code := Report(&buf, errors.New("boom")); code != 1 || buf.String() != "banger: boom\n" {
		t.Fatalf("Report(plain) = %d, %q", code, buf.String())
	}
	buf.Reset()
	if code := Report(&buf, fmt.Errorf("pulling: %w", context.Canceled)); code != 130 || !strings.Contains(buf.String(), "interrupted") {
		t.Fatalf("Report(cancelled) = %d, %q; want 130 and a word about the interruption", code, buf.String())
	}
	buf.Reset()
	if code := Report(&buf, &ExitError{Code: 7}); code != 7 || buf.Len() != 0 {
		t.Fatalf("Report(silent 7) = %d, %q; want 7 and no output", code, buf.String())
	}
}

func TestMissingDaemonBinarySaysHowToFix(t *testing.T) {
	hermetic(t)
	t.Setenv("BANGER_DAEMON_BIN", "")
	t.Setenv("PATH", t.TempDir())
	err := Run(context.Background(), []string{"vm", "list"}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "make install") {
		t.Fatalf("err = %v, want advice to install bangerd", err)
	}
}
