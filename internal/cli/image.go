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
		Long: `Manage the root filesystem images that VMs boot from.

Images come from banger's catalog (built on this machine from Debian's
archive), from OCI registries, from bundles exported by another banger, or
from an ext4 file you made yourself.`,
	}
	list := lister[api.Image]{
		use:   "list",
		short: "List local images, or with --catalog what can be pulled",
		long:  "List the images on this machine with their source, default kernel and size. With --catalog, list the images and kernels banger can pull by name.",
		example: `  banger image list
  banger image list --catalog
  banger image ls --json`,
		fetch: func(ctx context.Context, c *client.Client, _ []string) ([]api.Image, error) {
			return c.Images().List(ctx)
		},
		name:   func(im api.Image) string { return im.Name },
		empty:  "No local images. `banger image pull debian-bookworm` builds the default one.",
		header: []string{"NAME", "SOURCE", "KERNEL", "SIZE", "CREATED"},
		row: func(now time.Time, im api.Image) []string {
			return []string{im.Name, im.Source, orDash(im.Kernel), config.Size(im.SizeBytes).String(), ago(now, im.CreatedAt)}
		},
	}.command(a)
	addCatalogFlag(a, list)
	cmd.AddCommand(list, newImagePullCmd(a), newImageShowCmd(a), newImageRmCmd(a),
		newImageRegisterCmd(a), newImageExportCmd(a), newImageImportCmd(a), newImageWarmCmd(a))
	return cmd
}

// addCatalogFlag makes `image list --catalog` list the catalog instead.
func addCatalogFlag(a *app, list *cobra.Command) {
	var catalog bool
	list.Flags().BoolVar(&catalog, "catalog", false, "list what banger can pull by name, and whether it is already here")
	local := list.RunE
	list.RunE = func(cmd *cobra.Command, args []string) error {
		if !catalog {
			return local(cmd, args)
		}
		return catalogLister.run(cmd.Context(), a, listOptionsOf(cmd, a.stdout))
	}
}

var catalogLister = lister[api.CatalogEntry]{
	fetch: func(ctx context.Context, c *client.Client, _ []string) ([]api.CatalogEntry, error) {
		return c.Images().Catalog(ctx)
	},
	name:   func(e api.CatalogEntry) string { return e.Name },
	empty:  "The catalog is empty.",
	header: []string{"KIND", "NAME", "LOCAL", "DESCRIPTION"},
	row: func(_ time.Time, e api.CatalogEntry) []string {
		local := "no"
		if e.Local {
			local = "yes"
		}
		return []string{e.Kind, e.Name, local, e.Description}
	},
}
