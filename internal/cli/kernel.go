package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
)

func newKernelCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kernel",
		Short: "Manage guest kernels",
		Long:  "Manage the guest kernels that VMs boot.",
	}
	cmd.AddCommand(lister[api.Kernel]{
		use:   "list",
		short: "List local kernels",
		long:  "List the guest kernels on this machine with their version and source.",
		fetch: func(ctx context.Context, c *client.Client, _ []string) ([]api.Kernel, error) {
			return c.ListKernels(ctx)
		},
		empty:  "No local kernels.",
		header: []string{"NAME", "VERSION", "SOURCE", "CREATED"},
		row: func(now time.Time, k api.Kernel) []string {
			return []string{k.Name, orDash(k.Version), k.Source, ago(now, k.CreatedAt)}
		},
	}.command(a))
	return cmd
}
