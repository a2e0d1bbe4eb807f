package cli

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

// exitExecFailure is vm exec's status when banger itself fails, as vm
// run's (see exit.go).
const exitExecFailure = exitBangerFailure

// VMExecOptions are the inputs of `banger vm exec`.
type VMExecOptions struct {
	Name    string
	Command []string // empty for root's login shell
	TTY     bool
	Env     []string
	Dir     string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

func newVMExecCmd(a *app) *cobra.Command {
	opts := VMExecOptions{}
	cmd := &cobra.Command{
		Use:   "exec NAME [flags] [-- COMMAND...]",
		Short: "Run a command in a VM through its guest agent",
		Long:  vmExecHelp,
		Example: `  banger vm exec box -- uname -a             run one command
  banger vm exec box -- make -C /root/app    a build, Ctrl-C stops it
  tar c . | banger vm exec box -- tar x -C /root/src
  banger vm exec -t box -- htop              a full-screen program
  banger vm exec -e DEBUG=1 -w /tmp box -- env
  banger vm exec box                         a shell (with a terminal if yours is one)`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdin, opts.Stdout, opts.Stderr = a.stdin, a.stdout, a.stderr
			if err := opts.setArgs(args, cmd.ArgsLenAtDash()); err != nil {
				return &ExitError{Code: exitExecFailure, Err: err}
			}
			code, err := guest{a}.exec(cmd.Context(), opts)
			return exitStatus(code, err, exitExecFailure)
		},
	}
	cmd.Flags().BoolVarP(&opts.TTY, "tty", "t", false, "run the command on a terminal, with yours in raw mode")
	cmd.Flags().StringArrayVarP(&opts.Env, "env", "e", nil, "set an environment variable, KEY=VALUE (repeatable)")
	cmd.Flags().StringVarP(&opts.Dir, "workdir", "w", "", "working directory in the guest (default /root)")
	return cmd
}

// vmExecHelp is the long help of `banger vm exec`.
const vmExecHelp = `Run a command in a running VM as root, through banger's guest agent: no
sshd, network or keys needed, so it also works in images without sshd (most
OCI images). Standard input, output and error are streamed; without a
command, root's login shell runs.

With -t the command gets a terminal of your terminal's size, which follows
resizes, and your terminal is put in raw mode so every key reaches the
guest. Without -t, Ctrl-C (and SIGTERM, SIGHUP, SIGQUIT sent to banger)
is passed to the command's process group.

The command runs in /root (see -w) with PATH, HOME and TERM set (see -e).
When banger exits, the command is hung up; use ` + "`banger session start`" + ` for
processes that should outlive it.

Exit status, as docker exec's: the command's own; 128+N when signal N
killed it; 126 when it cannot be executed; 127 when it is not found; 125
when banger itself fails (bad flags, no such VM, a stopped VM).`

// setArgs fills in the VM name and the command from the arguments, dash
// being where "--" fell among them (cobra's ArgsLenAtDash), and checks
// the flags; Stdin must be set, as without a command it picks the TTY.
func (opts *VMExecOptions) setArgs(args []string, dash int) error {
	if dash > 1 || (dash < 0 && len(args) > 1) {
		return errdefs.InvalidArgument("vm exec takes one VM name; put the command after --, as in `banger vm exec NAME -- uname -a`")
	}
	opts.Name = args[0]
	if dash == 1 {
		opts.Command = args[1:]
	}
	if len(opts.Command) == 0 && isTerminalReader(opts.Stdin) {
		opts.TTY = true
	}
	for _, e := range opts.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return errdefs.InvalidArgument("-e %q: want KEY=VALUE", e)
		}
	}
	return nil
}

// exec runs the command and returns its exit status.
func (g guest) exec(ctx context.Context, opts VMExecOptions) (int, error) {
	p, err := g.start(ctx, opts)
	if err != nil {
		return 0, err
	}
	return runExec(p, opts)
}

// start starts the command of opts in the guest. An error means it
// did not start.
func (g guest) start(ctx context.Context, opts VMExecOptions) (*client.ProcessConn, error) {
	a := g.a
	req := api.ExecRequest{Command: opts.Command, Env: opts.Env, Dir: opts.Dir, TTY: opts.TTY}
	if opts.TTY {
		req.Term = os.Getenv("TERM")
		req.Rows, req.Cols, _ = terminalSize(opts.Stdout)
	}
	// Ctrl-C goes to the command, not to this call: the stream must
	// outlive the command line's context.
	ctx = context.WithoutCancel(ctx)
	var p *client.ProcessConn
	err := a.call(ctx, func(c *client.Client) (err error) {
		p, err = c.Exec(ctx, opts.Name, req)
		return err
	})
	return p, err
}

// runExec relays a started command's streams until it ends and returns
// its exit code.
func runExec(p *client.ProcessConn, opts VMExecOptions) (int, error) {
	defer p.Close()
	end, err := pumpProcess(p, processIO{
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr,
		Raw: opts.TTY, CloseStdin: true,
	})
	if err != nil {
		return 0, err
	}
	if end.Exit == nil {
		return 0, nil
	}
	return end.Exit.Code, nil
}
