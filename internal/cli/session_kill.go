package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
)

func newSessionKillCmd(a *app) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill VM/SESSION",
		Short: "Signal a session, or forget one that ended",
		Long: `Send a signal (TERM unless --signal says otherwise) to a running
session's whole process group. A session that has ended is forgotten
instead: it leaves ` + "`session list`" + `, and its name is free again (its log
file stays in the guest).`,
		Example: `  banger session kill box/web
  banger session kill -s INT box/web`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeSessionRefs,
		RunE: func(cmd *cobra.Command, args []string) error {
			vm, session, err := parseSessionRef(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var s api.Session
			err = a.call(ctx, func(c *client.Client) (err error) {
				s, err = c.KillSession(ctx, vm, session, signal)
				return err
			})
			if err != nil {
				return err
			}
			ref := vm + "/" + session
			if s.State == api.SessionExited {
				_, err = fmt.Fprintf(a.stdout, "forgot %s, which had ended (%s)\n", ref, safeLine(sessionState(s)))
				return err
			}
			sig := signal
			if sig == "" {
				sig = "TERM"
			}
			_, err = fmt.Fprintf(a.stdout, "sent %s to %s\n", sig, ref)
			return err
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "signal to send: a name (TERM, INT, KILL, HUP...) or a number (default TERM)")
	return cmd
}
