package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"

	"banger/internal/errdefs"
	"banger/internal/network/helperbin"
)

// Sudo runs each operation as `sudo -n <Bangerd> net '<json>'`, for a
// daemon that is not root. Arguments are checked before sudo runs, so bad
// ones fail with errdefs.InvalidArgument; the helper's stderr becomes the
// error's message. Sudo runs only a Bangerd that root alone can change
// (see helperbin.Check); for any other it fails with
// errdefs.FailedPrecondition saying why.
type Sudo struct {
	Bangerd string // absolute path of the bangerd binary
}

// Run applies op through sudo and the helper.
func (s Sudo) Run(ctx context.Context, op Op) error {
	if err := op.check(); err != nil {
		return err
	}
	if !filepath.IsAbs(s.Bangerd) {
		return fmt.Errorf("%s: bangerd path %q is not absolute, which sudo needs", op, s.Bangerd)
	}
	if err := checkHelper(s.Bangerd); errors.Is(err, helperbin.ErrUnsafe) {
		return errdefs.FailedPrecondition("%s needs root, and bangerd is not root: %v", op, err)
	} else if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	arg, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	cmd := exec.CommandContext(ctx, "sudo", "-n", s.Bangerd, "net", string(arg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	switch msg := lastBytes(strings.TrimSpace(stderr.String()), 4096); {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", op, ctx.Err())
	case errors.Is(err, exec.ErrNotFound):
		return errdefs.FailedPrecondition("%s needs root, bangerd is not root and sudo is not installed: run bangerd as root, or install sudo and allow passwordless `%s net *` for this user", op, s.Bangerd)
	case isSudoRefusal(msg):
		return errdefs.FailedPrecondition("%s needs root and sudo refused (%s): run bangerd as root, or allow this user passwordless sudo for bangerd, e.g. a sudoers line `%s ALL=(root) NOPASSWD: %s net *`",
			op, firstLine(msg), currentUser(), s.Bangerd)
	case msg != "":
		return fmt.Errorf("%s (as root through sudo): %s", op, msg)
	default:
		return fmt.Errorf("%s (as root through sudo): %w", op, err)
	}
}

// checkHelper says whether a bangerd binary may be run as root through
// sudo; only one that no user but root can change is run, or offered for
// a sudoers rule.
var checkHelper = helperbin.Check

func isSudoRefusal(msg string) bool {
	for _, s := range []string{"a password is required", "a terminal is required", "is not in the sudoers", "is not allowed to execute", "may not run sudo"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// currentUser names this process's user for the sudoers example.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("#%d", os.Getuid())
}

// lastBytes keeps the end of a long helper message, where the error is.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
