package mcp

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/progress"
)

const runHelp = `Run a shell command in a sandbox, as root, with /bin/sh -c, and wait for it
to end; returns its exit code, stdout and stderr. A command exiting non-zero
is not a tool error: read exit_code. Output past 64 KiB per stream is cut in
the middle, with a note; redirect big output to a file and read it with
sandbox_read_file. The command is killed when timeout_seconds passes
(default 600, at most 3600), and the result says so (timed_out). It runs in
the sandbox's workdir (its workspace copy, else /root) unless cwd says
otherwise. It has no input; long runs report progress every few seconds. For
a server or other long-lived process, start it in the background
("nohup CMD >/tmp/CMD.log 2>&1 &") and poll its log.`

// runIn are sandbox_run's arguments.
type runIn struct {
	Sandbox        string            `json:"sandbox" jsonschema:"the sandbox's name"`
	Command        string            `json:"command" jsonschema:"a shell command line, run with /bin/sh -c"`
	Cwd            string            `json:"cwd,omitempty" jsonschema:"working directory in the guest; absolute, or relative to the sandbox's workdir"`
	Env            map[string]string `json:"env,omitempty" jsonschema:"environment variables to set, NAME: VALUE"`
	TimeoutSeconds float64           `json:"timeout_seconds,omitempty" jsonschema:"kill the command after this many seconds; default 600, at most 3600"`
}

// runOut is how a command ended.
type runOut struct {
	ExitCode        int     `json:"exit_code" jsonschema:"the command's status; 128+N when signal N killed it, 127 when not found"`
	Signal          string  `json:"signal,omitempty" jsonschema:"the signal that killed it, such as KILL"`
	Stdout          string  `json:"stdout"`
	Stderr          string  `json:"stderr"`
	TimedOut        bool    `json:"timed_out,omitempty" jsonschema:"it ran past timeout_seconds and was killed"`
	Truncated       bool    `json:"truncated,omitempty" jsonschema:"some output was cut (see note)"`
	Note            string  `json:"note,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
}

func (s *Server) run(ctx context.Context, call *toolCall, in runIn) (runOut, error) {
	timeout, err := runTimeout(in.TimeoutSeconds)
	if err != nil {
		return runOut{}, err
	}
	if strings.TrimSpace(in.Command) == "" {
		return runOut{}, errdefs.InvalidArgument("command is empty: give a shell command line, such as \"make test\"")
	}
	env, err := envList(in.Env)
	if err != nil {
		return runOut{}, err
	}
	sb, err := s.sandboxOf(ctx, call.st, in.Sandbox)
	if err != nil {
		return runOut{}, err
	}
	dir := sb.workdir
	if in.Cwd != "" {
		if dir, err = guestPath(sb.workdir, "cwd", in.Cwd); err != nil {
			return runOut{}, err
		}
	}
	req := api.ExecRequest{Command: []string{"/bin/sh", "-c", in.Command}, Env: env, Dir: dir}
	p := &reporter{call: call}
	tick := func(elapsed time.Duration, n int64) {
		msg := fmt.Sprintf("running for %s, %s of output so far", elapsed.Round(time.Second), progress.Bytes(n))
		p.report(ctx, msg, elapsed.Seconds(), timeout.Seconds())
	}
	res, err := s.execute(ctx, sb.vm.Name, req, execLimits{timeout: timeout, output: s.opts.MaxOutput}, tick)
	if err != nil {
		return runOut{}, fmt.Errorf("running the command in sandbox %s: %w", sb.vm.Name, err)
	}
	return runResult(res, timeout), nil
}

// runTimeout checks timeout_seconds.
func runTimeout(sec float64) (time.Duration, error) {
	switch {
	case sec == 0:
		return DefaultTimeout, nil
	case sec < 0 || math.IsNaN(sec):
		return 0, errdefs.InvalidArgument("timeout_seconds %v: give a positive number of seconds, at most %d, or leave it out for %d", sec, int(MaxTimeout.Seconds()), int(DefaultTimeout.Seconds()))
	case sec > MaxTimeout.Seconds():
		return 0, errdefs.InvalidArgument("timeout_seconds %v is more than %d: for longer work, start it in the background (nohup CMD >/tmp/log 2>&1 &) and poll it", sec, int(MaxTimeout.Seconds()))
	}
	return time.Duration(sec * float64(time.Second)), nil
}

// envList turns env into NAME=VALUE strings, checking the names.
func envList(env map[string]string) ([]string, error) {
	var out []string
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, errdefs.InvalidArgument("env %q: a name must be non-empty without '=' or NUL, and a value without NUL", k)
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

// runResult is what the agent reads of a command's end.
func runResult(res execResult, timeout time.Duration) runOut {
	out := runOut{
		ExitCode: res.Code, Signal: res.Signal, TimedOut: res.TimedOut,
		Stdout: res.Stdout.String(), Stderr: res.Stderr.String(),
		DurationSeconds: math.Round(res.Elapsed.Seconds()*1000) / 1000,
	}
	var notes []string
	if res.TimedOut {
		notes = append(notes, fmt.Sprintf("killed after %s: the command ran past timeout_seconds (%s); raise timeout_seconds (at most %d), or start it in the background and poll it", res.Elapsed.Round(time.Millisecond), timeout, int(MaxTimeout.Seconds())))
	}
	for name, c := range map[string]*clip{"stdout": res.Stdout, "stderr": res.Stderr} {
		if n := c.cut(); n > 0 {
			out.Truncated = true
			notes = append(notes, fmt.Sprintf("%s was %d bytes; %d bytes were cut from its middle", name, c.total, n))
		}
	}
	out.Note = strings.Join(notes, "; ")
	return out
}
