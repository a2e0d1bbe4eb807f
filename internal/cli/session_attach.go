package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

// SessionAttachOptions are the inputs of `banger session attach`.
type SessionAttachOptions struct {
	VM, Session string
	Stdin       io.Reader
	Stdout      io.Writer
	Stderr      io.Writer
}

func newSessionAttachCmd(a *app) *cobra.Command {
	opts := SessionAttachOptions{}
	cmd := &cobra.Command{
		Use:   "attach VM/SESSION",
		Short: "Join a session's terminal or streams",
		Long: `Join a running session: what it writes from now on shows here, and what
you type goes to it. ` + "`banger session logs`" + ` shows what it wrote before.

Leaving does not stop the session:
  - a session with a terminal (started with -t): press Ctrl-] to detach.
    Your terminal is in raw mode meanwhile, so Ctrl-C and every other key
    go to the session, and its terminal takes your terminal's size.
  - a session without one: press Ctrl-C to detach.

When the session ends while you are attached, banger exits with its status.`,
		Example:           `  banger session attach box/sh          Ctrl-] detaches`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeSessionRefs,
		RunE: func(cmd *cobra.Command, args []string) error {
			vm, session, err := parseSessionRef(args[0])
			if err != nil {
				return err
			}
			opts.VM, opts.Session = vm, session
			opts.Stdin, opts.Stdout, opts.Stderr = a.stdin, a.stdout, a.stderr
			code, err := a.sessionAttach(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	return cmd
}

func (a *app) sessionAttach(ctx context.Context, opts SessionAttachOptions) (int, error) {
	ref := opts.VM + "/" + opts.Session
	var sessions []api.Session
	err := a.call(ctx, func(c *client.Client) (err error) {
		sessions, err = c.ListSessions(ctx, opts.VM)
		return err
	})
	if err != nil {
		return 0, err
	}
	var s *api.Session
	for i := range sessions {
		if sessions[i].Name == opts.Session {
			s = &sessions[i]
		}
	}
	if s == nil {
		return 0, errdefs.NotFound("no session %s: see `banger session list %s`", ref, opts.VM)
	}
	if s.State != api.SessionRunning {
		return 0, errdefs.FailedPrecondition("session %s has ended (%s): `banger session logs %s` shows its output", ref, sessionState(*s), ref)
	}
	req := api.AttachRequest{}
	raw := s.TTY && isTerminalReader(opts.Stdin)
	if raw {
		req.Rows, req.Cols, _ = terminalSize(opts.Stdout)
	}
	ctx = context.WithoutCancel(ctx) // Ctrl-C is the session's, or a detach
	var p *client.ProcessConn
	err = a.call(ctx, func(c *client.Client) (err error) {
		p, err = c.AttachSession(ctx, opts.VM, opts.Session, req)
		return err
	})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	if raw {
		fmt.Fprintf(opts.Stderr, "banger: attached to %s; Ctrl-] detaches\r\n", ref)
	} else {
		fmt.Fprintf(opts.Stderr, "banger: attached to %s; Ctrl-C detaches\n", ref)
	}
	end, err := pumpProcess(p, processIO{Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Raw: raw, Detach: true})
	if err != nil {
		return 0, err
	}
	if end.Detached {
		fmt.Fprintf(opts.Stderr, "\nbanger: detached from %s; it keeps running\n", ref)
		return 0, nil
	}
	fmt.Fprintf(opts.Stderr, "\nbanger: session %s ended (%s)\n", ref, exitText(*end.Exit))
	return end.Exit.Code, nil
}

// exitText says how a process ended, for people.
func exitText(e api.ExitStatus) string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit %d", e.Code)
}
