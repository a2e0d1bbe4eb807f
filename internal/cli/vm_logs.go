package cli

import (
	"github.com/spf13/cobra"

	"banger/internal/api/client"
)

func newVMLogsCmd(a *app) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Print a VM's console log",
		Long: `Print what the VM's kernel and init wrote to its serial console during its
last boot: the place to look when a VM does not come up. With -f, keep
printing as the guest writes, until the VM stops or you press Ctrl-C.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeVMs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			err := a.call(ctx, func(c *client.Client) error {
				return c.VMLogs(ctx, args[0], follow, a.stdout)
			})
			if follow && ctx.Err() != nil {
				return nil // Ctrl-C ends following; that is not a failure
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output")
	return cmd
}
