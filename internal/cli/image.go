package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/config"
)

func newImageCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage root filesystem images",
		Long:  "Manage the root filesystem images that VMs boot from.",
	}
	cmd.AddCommand(lister[api.Image]{
		use:   "list",
		short: "List local images",
		long:  "List the images on this machine with their source, default kernel and size.",
		fetch: func(ctx context.Context, c *client.Client, _ []string) ([]api.Image, error) {
			return c.ListImages(ctx)
		},
		empty:  "No local images.",
		header: []string{"NAME", "SOURCE", "KERNEL", "SIZE", "CREATED"},
		row: func(now time.Time, im api.Image) []string {
			return []string{im.Name, im.Source, orDash(im.Kernel), config.Size(im.SizeBytes).String(), ago(now, im.CreatedAt)}
		},
	}.command(a))
	return cmd
}
