package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"banger/internal/version"
)

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print banger's version",
		Long:  "Print the version of this banger CLI and, when it is running, of bangerd. It never starts the daemon.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.stdout, "banger  %s\n", version.Version)
			if a.dirsErr != nil {
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
			defer cancel()
			if info, err := a.ctl.Client.Daemon(ctx); err == nil {
				fmt.Fprintf(a.stdout, "bangerd %s\n", info.Version)
			} else {
				fmt.Fprintln(a.stdout, "bangerd not running")
			}
			return nil
		},
	}
}
