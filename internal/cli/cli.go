// Package cli is the banger command line. Each verb lives in its own file:
// it turns flags into a typed options value and calls the daemon through
// the API client; the logic lives in the packages the verbs call.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
	"banger/internal/config"
	"banger/internal/daemonctl"
	"banger/internal/paths"
)

// app is what every command shares: the I/O streams, the directories, the
// config and the daemon controller.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	dirs    paths.Dirs
	dirsErr error

	// config is config.toml, read on first use: the built-in config, with
	// the error, when it is invalid. Commands that do not need it do not
	// read it.
	config func() (*config.Config, error)
	// vmDefaults is the size of a new VM on this host with this config,
	// worked out on first use.
	vmDefaults func() config.ResolvedDefaults
	// warned is set once a daemon warning was shown.
	warned bool

	ctl *daemonctl.Controller
	// complete completes names from the daemon's lists.
	complete completer
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	a.complete = completer{a}
	a.dirs, a.dirsErr = paths.Default()
	a.config = loadConfig(a.dirs, a.dirsErr)
	a.vmDefaults = resolveVMDefaults(a.config)
	a.ctl = daemonctl.New(a.dirs)
	a.ctl.Notify = func(s string) { fmt.Fprintln(a.stderr, s) }
	a.ctl.Client.Warn = a.warn
	return a
}

// warn shows a warning from the daemon (such as an invalid config.toml)
// on stderr, once per command.
func (a *app) warn(msg string) {
	if a.warned {
		return
	}
	a.warned = true
	fmt.Fprintf(a.stderr, "banger: warning: %s\n", msg)
}

// ready reports whether the directories and the config are usable.
func (a *app) ready() error {
	if a.dirsErr != nil {
		return a.dirsErr
	}
	_, err := a.config()
	return err
}

// call runs fn against the daemon, starting or restarting it as needed.
// An invalid config.toml does not stop it: the daemon keeps its last good
// config, and says so. Only verbs that take defaults from the config
// refuse (see VMSpecOptions.request). A daemon that cannot start without
// a valid config names the config's problems.
func (a *app) call(ctx context.Context, fn func(*client.Client) error) error {
	if a.dirsErr != nil {
		return a.dirsErr
	}
	err := a.ctl.Call(ctx, fn)
	if err == nil {
		return nil
	}
	if _, cfgErr := a.config(); cfgErr != nil && !a.ctl.Running(ctx) {
		return errors.Join(cfgErr, err)
	}
	return err
}

// Run executes the banger command line with args (without the program name).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRoot(newApp(stdin, stdout, stderr), args...)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// ExitError ends banger with a given status. A zero-message ExitError is
// silent: the status speaks for itself (a guest command's own failure).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// exitStatus is the error of a verb that runs a guest command: the
// command's own status code passes through, and banger's own failure err
// exits with failure.
func exitStatus(code int, err error, failure int) error {
	if err != nil {
		return &ExitError{Code: failure, Err: err}
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// exitInterrupted is the status after Ctrl-C, as shells report it.
const exitInterrupted = 130

// Report prints err for a user, made safe for a terminal, and returns the
// process exit status.
func Report(w io.Writer, err error) int {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "banger: interrupted; the daemon cancelled the work and removed what it had made")
		return exitInterrupted
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(w, "banger: %s\n", safeText(ee.Err.Error()))
		}
		return ee.Code
	}
	// Errors can quote a guest: its console, its agent.
	fmt.Fprintf(w, "banger: %s\n", safeText(err.Error()))
	return exitFailure
}

// newRoot makes the command tree for the command line args, the program
// name left out; without args, the whole tree.
func newRoot(a *app, args ...string) *cobra.Command {
	root := &cobra.Command{
		Use:   "banger",
		Short: "One-command development sandboxes on microVMs",
		Long: `banger boots fresh, fully isolated Linux VMs (Firecracker or QEMU microVMs)
for development and for AI agents, and drops you into them over ssh.

The CLI talks to bangerd, a daemon it starts on first use. State lives under
the XDG directories: config in ~/.config/banger, VMs, images and the daemon
log in ~/.local/state/banger, downloads in ~/.cache/banger.

Start with:
  banger doctor          check this host
  banger vm run          boot a Debian sandbox and open a shell in it`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	addVerbs(root, args, rootVerbs(a))
	versionVerb{a}.addFlag(root)
	makeGroups(root)
	return root
}

// rootVerbs are banger's commands.
func rootVerbs(a *app) []verb {
	return []verb{
		{name: "vm", make: func(rest []string) *cobra.Command { return newVMCmd(a, rest) }},
		{name: "image", make: made(newImageCmd, a)},
		{name: "kernel", make: made(newKernelCmd, a)},
		{name: "session", make: made(newSessionCmd, a)},
		{name: "snapshot", make: made(newSnapshotCmd, a)},
		{name: "daemon", make: made(newDaemonCmd, a)},
		{name: "web", make: made(newWebCmd, a)},
		{name: "e2b", make: made(newE2BCmd, a)},
		{name: "mcp", make: made(newMCPCmd, a)},
		{name: "kubelet", make: made(newKubeletCmd, a)},
		{name: "doctor", make: made(newDoctorCmd, a)},
		{name: "config", make: made(newConfigCmd, a)},
		{name: "completion", make: made(newCompletionCmd, a)},
		{name: "version", make: func([]string) *cobra.Command { return versionVerb{a}.command() }},
	}
}
