// Package daemonctl starts, stops and finds bangerd on behalf of the CLI.
// Every CLI call goes through Call, which starts the daemon when nobody
// answers and restarts it when it is of another version.
package daemonctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/paths"
)

// DaemonBinEnv names an environment variable that overrides where the CLI
// finds bangerd.
const DaemonBinEnv = "BANGER_DAEMON_BIN"

// startTimeout bounds how long a freshly started daemon may take to answer.
const startTimeout = 15 * time.Second

// Controller manages the daemon for one set of banger directories.
type Controller struct {
	Dirs   paths.Dirs
	Client *client.Client
	// Notify, when set, receives one-line notes such as "started bangerd".
	Notify func(string)
}

// New returns a controller for dirs.
func New(dirs paths.Dirs) *Controller {
	return &Controller{Dirs: dirs, Client: &client.Client{Socket: dirs.Socket()}}
}

func (c *Controller) note(format string, args ...any) {
	if c.Notify != nil {
		c.Notify(fmt.Sprintf(format, args...))
	}
}

// Call runs fn against the daemon, starting it when it is not running and
// restarting it when it is of another version. fn may run twice: the daemon
// refuses a mismatched client before acting, so the first try did nothing.
func (c *Controller) Call(ctx context.Context, fn func(*client.Client) error) error {
	err := fn(c.Client)
	var mismatch *client.VersionMismatchError
	switch {
	case errors.Is(err, client.ErrNotRunning):
		if err := c.Start(ctx); err != nil {
			return err
		}
	case errors.As(err, &mismatch):
		c.note("restarting bangerd: it is version %s, banger is %s", mismatch.Daemon, mismatch.Client)
		if err := c.Stop(ctx); err != nil {
			return fmt.Errorf("stopping bangerd %s: %w", mismatch.Daemon, err)
		}
		if err := c.Start(ctx); err != nil {
			return err
		}
	default:
		return c.Explain(err)
	}
	return fn(c.Client)
}

// Info asks the daemon about itself, without starting one.
func (c *Controller) Info(ctx context.Context) (api.DaemonInfo, error) {
	info, err := c.Client.Daemon(ctx)
	return info, c.Explain(err)
}

// Explain replaces a failure to reach the socket that comes from the
// runtime dir (a file where it should be a directory, say) with what is
// wrong and how to fix it; any other error is returned as it is.
func (c *Controller) Explain(err error) error {
	var op *net.OpError
	if err == nil || errors.Is(err, client.ErrNotRunning) || !errors.As(err, &op) {
		return err
	}
	if cerr := c.Dirs.CheckSocket(); cerr != nil {
		return errdefs.FailedPrecondition("cannot reach bangerd: %v", cerr)
	}
	return err
}

// Running reports whether a daemon answers, without starting one.
func (c *Controller) Running(ctx context.Context) bool {
	_, err := c.Client.Daemon(ctx)
	return err == nil
}

// BinaryPath finds bangerd: $BANGER_DAEMON_BIN, then next to this
// executable, then on PATH.
func BinaryPath() (string, error) {
	if p := os.Getenv(DaemonBinEnv); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "bangerd")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath("bangerd")
	if err != nil {
		return "", errdefs.FailedPrecondition("cannot find bangerd next to banger or on PATH: install it with `make install`, or set %s", DaemonBinEnv)
	}
	return p, nil
}

// Start launches a detached daemon and waits until it answers. When several
// CLIs start one at once, the daemon's lock lets exactly one win and every
// CLI ends up talking to it.
func (c *Controller) Start(ctx context.Context) error {
	bin, err := BinaryPath()
	if err != nil {
		return err
	}
	if err := c.Dirs.CheckSocket(); err != nil {
		return err
	}
	if err := os.MkdirAll(c.Dirs.State, 0o700); err != nil {
		return fmt.Errorf("creating state dir: %w", err)
	}
	logf, err := os.OpenFile(c.Dirs.LogFile(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening daemon log: %w", err)
	}
	defer logf.Close()
	from := logSize(logf)
	cmd := exec.Command(bin)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return c.waitReady(ctx, exited, from)
}

// waitReady polls the socket until a daemon answers. A child that exits is
// fine as long as another daemon (the race's winner) answers soon after.
// logFrom is where the child's lines begin in the log.
func (c *Controller) waitReady(ctx context.Context, exited <-chan error, logFrom int64) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var exitErr error
	var exitDeadline <-chan time.Time
	for {
		info, err := c.Client.Daemon(ctx)
		if err == nil {
			c.note("started bangerd %s (pid %d)", info.Version, info.PID)
			return nil
		}
		select {
		case exitErr = <-exited:
			exited = nil
			exitDeadline = time.After(2 * time.Second)
		case <-exitDeadline:
			return c.startFailed(fmt.Errorf("it exited (%v)", exitErr), logFrom)
		case <-ctx.Done():
			return c.startFailed(fmt.Errorf("it did not answer within %s", startTimeout), logFrom)
		case <-tick.C:
		}
	}
}

// startFailed says why the daemon did not start, with the lines it logged
// since logFrom.
func (c *Controller) startFailed(cause error, logFrom int64) error {
	tail := logTail(c.Dirs.LogFile(), logFrom)
	if tail == "" {
		return errdefs.Unavailable("cannot start bangerd: %v, logging nothing; see %s or run `banger daemon logs`", cause, c.Dirs.LogFile())
	}
	return errdefs.Unavailable("cannot start bangerd: %v; the end of its log:\n%s\nthe whole log: %s, or run `banger daemon logs`", cause, tail, c.Dirs.LogFile())
}

// Stop asks the daemon to exit and waits until its process is gone. It is
// not an error when no daemon runs.
func (c *Controller) Stop(ctx context.Context) error {
	info, err := c.Info(ctx)
	if errors.Is(err, client.ErrNotRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.Client.Shutdown(ctx); err != nil && !errors.Is(err, client.ErrNotRunning) {
		return err
	}
	return waitGone(ctx, info.PID, 20*time.Second)
}

// waitGone waits for pid to exit, sending SIGTERM halfway through.
func waitGone(ctx context.Context, pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	termAt := time.Now().Add(limit / 2)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		if !termAt.IsZero() && time.Now().After(termAt) {
			_ = syscall.Kill(pid, syscall.SIGTERM)
			termAt = time.Time{}
		}
		if time.Now().After(deadline) {
			return errdefs.Unavailable("bangerd (pid %d) did not exit within %s", pid, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
