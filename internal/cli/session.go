package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
)

func newSessionCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "session",
		Short: "Manage long-lived processes inside VMs",
		Long:  "Manage sessions: named, long-lived processes that run inside a VM and outlive the client.",
	}
	cmd.AddCommand(lister[api.Session]{
		use:      "list [VM]",
		short:    "List sessions",
		long:     "List sessions in every VM, or in one VM when its name is given.",
		args:     cobra.MaximumNArgs(1),
		complete: a.completeVMs,
		fetch: func(ctx context.Context, c *client.Client, args []string) ([]api.Session, error) {
			vm := ""
			if len(args) == 1 {
				vm = args[0]
			}
			return c.ListSessions(ctx, vm)
		},
		empty:  "No sessions.",
		header: []string{"VM", "NAME", "STATE", "COMMAND"},
		row: func(_ time.Time, s api.Session) []string {
			return []string{s.VM, s.Name, s.State, s.Command}
		},
	}.command(a))
	return cmd
}
