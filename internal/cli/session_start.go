package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

// SessionStartOptions are the inputs of `banger session start`.
type SessionStartOptions struct {
	VM      string
	Name    string
	Command []string
	TTY     bool
	Env     []string
	Dir     string
	Stdout  io.Writer
	Stderr  io.Writer
}

func newSessionStartCmd(a *app) *cobra.Command {
	opts := SessionStartOptions{}
	cmd := &cobra.Command{
		Use:   "start VM [--name NAME] [-t] [-- COMMAND...]",
		Short: "Start a long-lived process in a VM",
		Long: `Start COMMAND in a running VM as a session, and return at once; the
session keeps running after banger, and bangerd, exit. Without a command it
is root's login shell, which is most useful with -t.

With -t the session runs on a terminal (80x24 until someone attaches), so
full-screen programs and shells behave; without it, its standard output
and error are kept together and its input comes from whoever attaches.

banger prints VM/SESSION: the name for attach, logs and kill. Without
--name the session is named after the command (sleep, sleep-2, ...).`,
		Example: `  banger session start box --name web -- python3 -m http.server
  banger session start box --name sh -t -- bash
  banger session start box -e PORT=8080 -w /root/app -- ./serve`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdout, opts.Stderr = a.stdout, a.stderr
			dash := cmd.ArgsLenAtDash()
			if dash > 1 || (dash < 0 && len(args) > 1) {
				return errdefs.InvalidArgument("session start takes one VM name; put the command after --, as in `banger session start box -- sleep 600`")
			}
			opts.VM = args[0]
			if dash == 1 {
				opts.Command = args[1:]
			}
			return a.sessionStart(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "the session's name (letters, digits, '.', '_', '-')")
	cmd.Flags().BoolVarP(&opts.TTY, "tty", "t", false, "run the session on a terminal")
	cmd.Flags().StringArrayVarP(&opts.Env, "env", "e", nil, "set an environment variable, KEY=VALUE (repeatable)")
	cmd.Flags().StringVarP(&opts.Dir, "workdir", "w", "", "working directory in the guest (default /root)")
	return cmd
}

func (a *app) sessionStart(ctx context.Context, opts SessionStartOptions) error {
	req := api.StartSessionRequest{Name: opts.Name, ExecRequest: api.ExecRequest{
		Command: opts.Command, Env: opts.Env, Dir: opts.Dir, TTY: opts.TTY,
	}}
	if opts.TTY {
		req.Term = os.Getenv("TERM")
	}
	var s api.Session
	err := a.call(ctx, func(c *client.Client) (err error) {
		s, err = c.StartSession(ctx, opts.VM, req)
		return err
	})
	if err != nil {
		return err
	}
	ref := safeLine(s.VM + "/" + s.Name) // the guest may have named it
	fmt.Fprintf(opts.Stderr, "banger: started %s (pid %d in the guest): `banger session logs -f %s` shows its output\n", ref, s.PID, ref)
	_, err = fmt.Fprintln(opts.Stdout, ref)
	return err
}
