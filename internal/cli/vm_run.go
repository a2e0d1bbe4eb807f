package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"banger/internal/agent/agentproto"
	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/guestssh/sshcmd"
)

// exitBangerFailure is vm run's status when banger itself fails, as
// opposed to the guest command, whose own status passes through.
const exitBangerFailure = 125

// VMRunOptions are the inputs of `banger vm run`.
type VMRunOptions struct {
	Spec           VMSpecOptions
	Path           string   // workspace to copy in; "" for a bare sandbox
	From, Branch   string   // workspace mode: copy a commit; put it on a new branch
	Command        []string // guest command after "--"; empty for a shell
	Remove         bool
	TTY            bool     // -t: a terminal even for a command
	Interactive    bool     // -i: accepted as docker run takes it; stdin always streams
	Env            []string // -e KEY=VALUE
	Dir            string   // -w: the guest command's directory
	Detach         bool     // -d: start the command as a session and return
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

func newVMRunCmd(a *app) *cobra.Command {
	opts := VMRunOptions{}
	cmd := &cobra.Command{
		Use:   "run [PATH] [flags] [-- COMMAND...]",
		Short: "Boot a fresh VM and open a shell in it, or run a command",
		Long:  vmRunHelp + "\n\n" + workspaceHelp + "\n\n" + specHelp(a),
		Example: `  banger vm run                        a bare sandbox: opens an ssh shell
  banger vm run ./repo                 copies the repository in, opens a shell there
  banger vm run ./repo -- make test    runs the command in the copy, exits with its status
  banger vm run -- make test           runs the command, exits with its status
  banger vm run --rm -- ./script.sh    the VM is deleted when the command ends
  banger vm run -it -- htop            a full-screen program, on a terminal
  banger vm run -e DEBUG=1 -w /tmp -- env
  banger vm run -d -- ./serve          starts it as a session, returns at once
  banger vm run --from-snapshot base   a VM restored from a snapshot
  banger vm run -d --ttl 1h -l job=42 -- ./serve   deleted in an hour, found by its label`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdin, opts.Stdout, opts.Stderr = a.stdin, a.stdout, a.stderr
			if err := opts.setArgs(args, cmd.ArgsLenAtDash()); err != nil {
				return &ExitError{Code: exitBangerFailure, Err: err}
			}
			code, err := a.vmRun(cmd.Context(), opts)
			return exitStatus(code, err, exitBangerFailure)
		},
	}
	a.addSpecFlags(cmd, &opts.Spec)
	addRunFlags(cmd, &opts)
	cmd.Flags().BoolVar(&opts.Remove, "rm", false, "delete the VM when the shell or command exits")
	cmd.Flags().StringVar(&opts.From, "from", "", "workspace mode: copy this commit, tag or branch instead of the working tree")
	cmd.Flags().StringVar(&opts.Branch, "branch", "", "workspace mode: put the copy on this new branch")
	_ = cmd.RegisterFlagCompletionFunc("from", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("branch", cobra.NoFileCompletions)
	return cmd
}

// vmRunHelp is the long help of `banger vm run`, before the workspace's
// and the spec flags' own.
const vmRunHelp = `Create a VM, boot it and connect to it in one step: without a command, an
ssh shell in it; with one (after --), the command, whose status banger exits
with.

The image and kernel are pulled on demand. Leaving the shell keeps the VM
running; use --rm to delete it on exit. If the guest never gets ready, the
VM is kept even with --rm, so that ` + "`banger vm logs NAME`" + ` can show why.

In command mode the command runs through the guest agent, as ` + "`vm exec`" + ` does
(no ssh handshake: under emulation that saves seconds), in root's login
shell in /root, the way ssh would run it; images whose agent predates exec
use ssh.

As with docker run: -t gives the command a terminal (a shell gets one when
your input is a terminal); -i is accepted, standard input always reaching
the command; -e KEY=VALUE sets a variable and -w DIR the directory (by
default /root, or the workspace copy), as on vm exec. -d starts the
command as a session (see ` + "`banger session start`" + `) and returns at once,
printing VM/SESSION for ` + "`banger session attach`" + ` and ` + "`banger session logs`" + `;
it needs a command and is refused with --rm, which would delete the VM
under the session.

Exit status, as docker run's: in command mode, the guest command's own
status; 126 when it cannot be executed; 127 when it is not found; 125 when
banger itself fails (bad flags, no image, a VM that does not boot), so
scripts can tell the two apart.`

// setArgs fills in the workspace path and the command from the
// arguments, dash being where "--" fell among them (cobra's
// ArgsLenAtDash).
func (opts *VMRunOptions) setArgs(args []string, dash int) error {
	if dash >= 0 {
		opts.Command = args[dash:]
		args = args[:dash]
	}
	if len(args) > 1 {
		return errdefs.InvalidArgument("vm run takes at most one PATH before --, got %q; put the command after --", args)
	}
	if len(args) == 1 {
		opts.Path = args[0]
	}
	return opts.checkRunFlags()
}

func (a *app) vmRun(ctx context.Context, opts VMRunOptions) (int, error) {
	ws, err := workspaceRequest(opts)
	if err != nil {
		return 0, err
	}
	req, err := opts.Spec.request()
	if err != nil {
		return 0, err
	}
	if ws != nil && req.FromSnapshot != "" {
		return 0, errdefs.InvalidArgument("--from-snapshot and a workspace PATH: a VM made from a snapshot keeps the snapshot's /root; drop one of them")
	}
	req.Workspace = ws
	req.AgentExec = len(opts.Command) > 0 // run through the agent: no wait for sshd
	tty := opts.TTY || len(opts.Command) == 0 && isTerminalReader(opts.Stdin)
	printSpec(opts.Stderr, req)
	vm, err := a.createAndWait(ctx, req, opts.Stderr)
	if err != nil {
		return 0, err
	}
	if opts.Detach {
		return 0, a.vmRunDetached(ctx, vm, opts)
	}
	code, sshErr := guest{a}.run(ctx, vm, tty, opts)
	if opts.Remove {
		// The session is over: delete even when Ctrl-C ended it.
		dctx := context.WithoutCancel(ctx)
		if err := a.call(dctx, func(c *client.Client) error { return c.DeleteVM(dctx, vm.Name, true) }); err != nil {
			return code, errors.Join(sshErr, fmt.Errorf("deleting VM %s: %w", vm.Name, err))
		}
		fmt.Fprintf(opts.Stderr, "banger: deleted VM %s\n", vm.Name)
	} else if len(opts.Command) == 0 {
		fmt.Fprintf(opts.Stderr, "banger: VM %s is still running: `banger vm ssh %s` reconnects, `banger vm delete --force %s` removes it\n", vm.Name, vm.Name, vm.Name)
	}
	return code, sshErr
}

// run runs vm run's command, or its shell, in the new VM: through
// the agent for a command (no ssh handshake) or on a VM without a
// network, else over ssh. An agent that cannot run commands refuses
// before anything starts, and ssh takes over.
func (g guest) run(ctx context.Context, vm api.VM, tty bool, opts VMRunOptions) (int, error) {
	command := opts.guestCommand(vm.Workspace)
	if len(opts.Command) > 0 || vm.Network == "none" {
		var argv []string
		if len(command) > 0 {
			argv = agentproto.LoginShellArgv(sshcmd.QuoteCommand(command))
		}
		eo := VMExecOptions{Name: vm.Name, Command: argv, TTY: tty, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr}
		p, err := g.start(ctx, eo)
		if err == nil {
			return runExec(p, eo)
		}
		if errdefs.KindOf(err) != errdefs.KindFailedPrecondition {
			return 0, err
		}
	}
	return g.shell(ctx, vm.Name, tty, command, opts.Stdin, opts.Stdout, opts.Stderr)
}

// createAndWait creates a VM with progress on w and returns it once its
// guest is ready.
func (a *app) createAndWait(ctx context.Context, req api.CreateVMRequest, w io.Writer) (api.VM, error) {
	var vm api.VM
	prog, finish := newProgress(w)
	err := a.call(ctx, func(c *client.Client) (err error) {
		vm, err = c.CreateVM(ctx, req, prog)
		return err
	})
	finish()
	if err != nil {
		return vm, err
	}
	fmt.Fprintf(w, "==> %s is ready at %s\n", vm.Name, vm.IP)
	if len(vm.Ports) > 0 {
		fmt.Fprintf(w, "==> ports: %s\n", portsLine(vm.Ports))
	}
	return vm, nil
}
