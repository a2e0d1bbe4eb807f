package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/guestssh/sshcmd"
)

// VMSSHOptions are the inputs of `banger vm ssh`.
type VMSSHOptions struct {
	Name           string
	Command        []string // empty for a login shell
	SSHOptions     []string // ssh's own options, given after --
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

func newVMSSHCmd(a *app) *cobra.Command {
	opts := VMSSHOptions{}
	cmd := &cobra.Command{
		Use:   "ssh NAME [-- [SSH-OPTIONS...] [COMMAND...]]",
		Short: "Open a shell in a VM, or run a command there",
		Long: `Connect to a running VM as root with ssh. Without a command, open an
interactive shell; with one, run it and exit with its status.

banger checks the guest's host key against the keys the guest's agent
reported when it booted, so the connection never trusts a key on first use.
In a VM whose image has no sshd, banger connects through its guest agent
instead, as ` + "`banger vm exec`" + ` does.

After --, words that start with - are options for ssh itself, as on ssh's
own command line (-L 8080:localhost:80 to forward a port, -A to forward
your agent, -N to run nothing, -v); the first other word starts the remote
command, or a second -- does. So ` + "`banger vm ssh box -- -L 8080:localhost:80 -N`" + `
forwards a port, and ` + "`banger vm ssh box -- -A git pull`" + ` runs git with your
agent. ssh options need the guest's sshd. ` + "`banger vm ssh-config`" + ` gives other
ssh clients the same settings.

Exit status: the command's own status; 255 when ssh itself fails (it
cannot connect, or the host key does not match); 125 when banger fails
before ssh runs (bad arguments, no such VM, a stopped VM, no ssh client).
126 and 127 say the command cannot be executed or is not found, as a
shell reports them.`,
		Example: `  banger vm ssh box
  banger vm ssh box -- uname -a
  banger vm ssh box -- cat /etc/os-release
  banger vm ssh box -- -L 8080:localhost:80 -N`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdin, opts.Stdout, opts.Stderr = a.stdin, a.stdout, a.stderr
			dash := cmd.ArgsLenAtDash()
			if dash > 1 || (dash < 0 && len(args) > 1) {
				return bangerFailed(errdefs.InvalidArgument("vm ssh takes one VM name; put the command after --, as in `banger vm ssh NAME -- uname -a`"))
			}
			opts.Name = args[0]
			if dash == 1 {
				s, err := splitSSHArgs(args[1:])
				if err != nil {
					return err
				}
				opts.SSHOptions, opts.Command = s.Options, s.Command
			}
			code, err := a.vmSSH(cmd.Context(), opts)
			if err != nil {
				return bangerFailed(err)
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	return cmd
}

func (a *app) vmSSH(ctx context.Context, opts VMSSHOptions) (int, error) {
	if len(opts.SSHOptions) > 0 {
		return a.sshWithOptions(ctx, opts)
	}
	return guest{a}.shell(ctx, opts.Name, len(opts.Command) == 0 && isTerminalReader(opts.Stdin), opts.Command, opts.Stdin, opts.Stdout, opts.Stderr)
}

// execSSH runs OpenSSH against target and returns the remote status,
// with a terminal when tty, and sshOptions before banger's own. ssh
// handles Ctrl-C itself (the remote side gets it in a terminal); banger
// only waits for it.
func execSSH(target api.SSHTarget, tty bool, command []string, stdin io.Reader, stdout, stderr io.Writer, sshOptions ...string) (int, error) {
	bin, err := exec.LookPath("ssh")
	if err != nil {
		return 0, errdefs.FailedPrecondition("ssh is not installed: install the openssh-client package")
	}
	t := sshcmd.Target{User: target.User, Host: target.Host, Key: target.Key, KnownHosts: target.KnownHosts, Alias: target.Alias}
	cmd := exec.Command(bin, slices.Concat(sshOptions, t.Args(tty, command))...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil // as shells report it
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(f)
}
