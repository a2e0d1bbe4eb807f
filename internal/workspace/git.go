package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"banger/internal/errdefs"
)

// git runs git commands in one repository with an environment that only
// the repository's own configuration and the user's global one shape.
type git struct {
	dir string // where git runs
}

// gitEnv is the process's environment without the variables that would
// point git at another repository, index or work tree (a hook that runs
// banger sets them), in the C locale so messages are stable.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || k == "LC_ALL" || k == "LANG" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "GIT_TERMINAL_PROMPT=0")
}

func lookGit() (string, error) {
	bin, err := exec.LookPath("git")
	if err != nil {
		return "", errdefs.FailedPrecondition("git is not installed: workspace mode needs it on the host (apt-get install git)")
	}
	return bin, nil
}

func (g git) cmd(ctx context.Context, stdin io.Reader, args ...string) (*exec.Cmd, error) {
	bin, err := lookGit()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdin = g.dir, gitEnv(), stdin
	return cmd, nil
}

// out runs git and returns its standard output; a failure carries git's
// own message.
func (g git) out(ctx context.Context, args ...string) ([]byte, error) {
	return g.in(ctx, nil, args...)
}

// in is out with stdin.
func (g git) in(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	cmd, err := g.cmd(ctx, stdin, args...)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return out, &gitError{args: args, err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return out, nil
}

// line runs git and returns its output's first line.
func (g git) line(ctx context.Context, args ...string) (string, error) {
	out, err := g.out(ctx, args...)
	s, _, _ := strings.Cut(string(out), "\n")
	return s, err
}

// path runs git and returns its output without the final newline: a
// path, which may hold newlines of its own.
func (g git) path(ctx context.Context, args ...string) (string, error) {
	out, err := g.out(ctx, args...)
	return strings.TrimSuffix(string(out), "\n"), err
}

// refused reports whether git refused the repository as another user's.
func refused(err error) bool {
	var ge *gitError
	return errors.As(err, &ge) && strings.Contains(ge.stderr, "dubious ownership")
}

// ok reports whether git exits 0, for the questions git answers with
// its status.
func (g git) ok(ctx context.Context, args ...string) (bool, error) {
	_, err := g.out(ctx, args...)
	var ge *gitError
	if errors.As(err, &ge) {
		var ee *exec.ExitError
		if errors.As(ge.err, &ee) {
			return false, nil
		}
	}
	return err == nil, err
}

type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	msg := fmt.Sprintf("git %s: %v", strings.Join(e.args, " "), e.err)
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// splitZ splits NUL-terminated records.
func splitZ(b []byte) []string {
	var recs []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			recs = append(recs, string(b))
			break
		}
		recs = append(recs, string(b[:i]))
		b = b[i+1:]
	}
	return recs
}
