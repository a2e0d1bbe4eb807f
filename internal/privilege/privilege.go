// Package privilege is banger's one boundary for work that needs root:
// building images (debootstrap, chroot), and later network setup. Everything
// that needs root goes through a Runner, which runs the command directly
// when banger is root and through `sudo -n` otherwise, so the daemon can
// run as the user.
package privilege

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"banger/internal/errdefs"
)

// Runner runs commands as root.
type Runner interface {
	// Command returns a command that runs name with args as root.
	Command(ctx context.Context, name string, args ...string) *exec.Cmd
}

// Host is the Runner for the real host.
type Host struct{}

var _ Runner = Host{}

// IsRoot reports whether this process runs as root.
func IsRoot() bool { return os.Geteuid() == 0 }

// Command runs name directly as root, else through `sudo -n`.
func (Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if IsRoot() {
		return exec.CommandContext(ctx, name, args...)
	}
	return exec.CommandContext(ctx, "sudo", append([]string{"-n", "--", name}, args...)...)
}

// Check reports, with advice, whether root commands can run at all.
func Check(ctx context.Context) error {
	if IsRoot() {
		return nil
	}
	if err := exec.CommandContext(ctx, "sudo", "-n", "true").Run(); err != nil {
		return errdefs.FailedPrecondition("this needs root: run banger as root, or allow this user passwordless sudo (e.g. a sudoers rule with NOPASSWD)")
	}
	return nil
}

// Run runs a root command and returns its error with the tail of its
// output, which is where tools like debootstrap say what went wrong.
func Run(ctx context.Context, r Runner, name string, args ...string) error {
	cmd := r.Command(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && isSudoRefusal(out.String()) {
			return errdefs.FailedPrecondition("%s needs root and sudo refused: run banger as root, or allow this user passwordless sudo", name)
		}
		return fmt.Errorf("%s: %w: %s", name, err, tail(out.String(), 20))
	}
	return nil
}

func isSudoRefusal(out string) bool {
	return strings.Contains(out, "a password is required") || strings.Contains(out, "is not in the sudoers")
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
