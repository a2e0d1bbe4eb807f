package cli

import (
	"github.com/spf13/cobra"

	"banger/internal/api/client"
)

func newSessionLogsCmd(a *app) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs VM/SESSION",
		Short: "Print a session's output",
		Long: `Print what a session wrote: the latest 1 MiB, which the VM's guest agent
keeps in memory (all of it is in the guest, in
/root/.cache/banger/sessions/SESSION.log). With -f, keep printing as the
session writes, until it ends or you press Ctrl-C.`,
		Example: `  banger session logs box/web
  banger session logs -f box/web`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeSessionRefs,
		RunE: func(cmd *cobra.Command, args []string) error {
			vm, session, err := parseSessionRef(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			err = a.call(ctx, func(c *client.Client) error {
				return c.SessionLogs(ctx, vm, session, follow, a.stdout)
			})
			if follow && ctx.Err() != nil {
				return nil // Ctrl-C ends following; that is not a failure
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until the session ends")
	return cmd
}
