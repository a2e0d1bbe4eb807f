package cli

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/atomicfile"
	"banger/internal/config"
	"banger/internal/progress"
)

func newImagePullCmd(a *app) *cobra.Command {
	return withExample(pullCmd(a, "pull NAME|REF", "Build a catalog image, or pull one from an OCI registry",
		`Make an image available locally: a catalog image by name (`+"`banger image list\n--catalog`"+` lists them), or an OCI image by its reference.

Catalog images are built on this machine from Debian's archive with
debootstrap, which needs root or passwordless sudo; the image's kernel is
pulled too. Builds are cached, so pulling an unchanged recipe again is
instant. OCI images are flattened into an ext4 image with banger's guest
agent added; their layers are cached in banger's cache dir and shared.
Ctrl-C cancels and leaves nothing half-made.`,
		cobra.NoFileCompletions,
		func(ctx context.Context, c *client.Client, name string, prog progress.Func) (string, error) {
			im, err := c.Images().Pull(ctx, name, prog)
			return im.Name, err
		}), `  banger image pull debian-bookworm                      a catalog image, built here
  banger image pull docker.io/library/debian:bookworm    an OCI image
  banger image pull oci://registry.example/team/dev:1    any OCI registry`)
}

func newImageRmCmd(a *app) *cobra.Command {
	return rmCmd(a, "image", a.complete.imageArgs, func(ctx context.Context, c *client.Client, name string) error {
		return c.Images().Delete(ctx, name)
	})
}

func newImageShowCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show one image in detail",
		Long:  "Show an image's source, kernel, rootfs file, its size on disk (allocated, which is less than the apparent size for sparse files), the VMs that use it, and its warm templates (see `banger image warm`).",
		Example: `  banger image show debian-bookworm
  banger image show debian-bookworm --json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.imageArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var d api.ImageDetail
			err := a.call(ctx, func(c *client.Client) (err error) {
				d, err = c.Images().Get(ctx, args[0])
				return err
			})
			if err != nil {
				return err
			}
			return showDetail(a.stdout, asJSON, d, [][2]string{
				{"name", d.Name}, {"source", d.Source}, {"kernel", orDash(d.Kernel)},
				{"rootfs", d.RootfsPath},
				{"size", fmt.Sprintf("%s apparent, %s allocated", config.Size(d.SizeBytes), progress.Bytes(d.AllocatedBytes))},
				{"digest", orDash(d.Digest)}, {"used by", usedBy(d.UsedBy)},
				{"warm templates", templatesLine(d.Templates)},
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// ImageRegisterOptions are the inputs of `banger image register`.
type ImageRegisterOptions struct {
	Name, Rootfs, Kernel string
}

func newImageRegisterCmd(a *app) *cobra.Command {
	opts := ImageRegisterOptions{}
	cmd := &cobra.Command{
		Use:   "register NAME --rootfs PATH [--kernel NAME]",
		Short: "Register an ext4 root filesystem you made as an image",
		Long: `Register an existing ext4 filesystem image under NAME. banger copies it
(sparse, so holes stay free) into its state dir; the original is untouched.
--kernel names the kernel VMs from this image boot by default.`,
		Example: `  banger image register mybox --rootfs ./rootfs.ext4
  banger image register mybox --rootfs ./rootfs.ext4 --kernel debian-6.1-cloud`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			ctx := cmd.Context()
			abs, err := hostFile(opts.Rootfs, "an ext4 filesystem image")
			if err != nil {
				return err
			}
			var im api.Image
			err = a.call(ctx, func(c *client.Client) (err error) {
				im, err = c.Images().Register(ctx, api.RegisterImageRequest{Name: opts.Name, Rootfs: abs, Kernel: opts.Kernel})
				return err
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "registered image %s (%s)\n", im.Name, config.Size(im.SizeBytes))
			return err
		},
	}
	cmd.Flags().StringVar(&opts.Rootfs, "rootfs", "", "path of the ext4 image file (required)")
	cmd.Flags().StringVar(&opts.Kernel, "kernel", "", "default kernel for VMs from this image")
	_ = cmd.MarkFlagRequired("rootfs")
	_ = cmd.RegisterFlagCompletionFunc("kernel", a.complete.kernels)
	return cmd
}

func newImageExportCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:               "export NAME -o FILE",
		Short:             "Write an image (and its kernel) to a bundle file",
		Long:              "Write an image, with its kernel when it has one, to a bundle: one compressed file with a manifest and a sha256 for every part, which `banger image import` verifies. See docs/image-catalog.md for the format.",
		Example:           `  banger image export debian-bookworm -o bookworm.tar.zst`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.imageArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.imageExport(cmd.Context(), args[0], out)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "bundle file to write (required)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func (a *app) imageExport(ctx context.Context, name, out string) error {
	var n int64
	h := sha256.New()
	err := atomicfile.WriteFrom(out, 0o644, func(w io.Writer) error {
		return a.call(ctx, func(c *client.Client) (err error) {
			n, err = c.Images().Export(ctx, name, io.MultiWriter(w, h))
			return err
		})
	})
	if err != nil {
		return err // the daemon's error, or one naming the file
	}
	_, err = fmt.Fprintf(a.stdout, "wrote %s (%s)\nsha256 %x\n", out, progress.Bytes(n), h.Sum(nil))
	return err
}

func newImageImportCmd(a *app) *cobra.Command {
	var req api.ImportImageRequest
	cmd := pullCmd(a, "import FILE|URL", "Import an image bundle from a file or an http(s) URL",
		`Import a bundle made by `+"`banger image export`"+`, from a local file or an http(s)
URL. Downloads resume where an interrupted one stopped.

With --sha256 (the sum `+"`banger image export`"+` printed, passed along by a channel
you trust), the whole bundle is checked against it before anything is
unpacked. A plain http:// URL is refused without --sha256: anyone on the way
could swap the bundle. Every file is then checked against the sha256 in the
bundle's manifest before anything is registered.`,
		nil,
		func(ctx context.Context, c *client.Client, src string, prog progress.Func) (string, error) {
			if !isURL(src) {
				abs, err := hostFile(src, "a bundle made by `banger image export`, or an http(s) URL")
				if err != nil {
					return "", err
				}
				src = abs
			}
			req.Source = src
			im, err := c.Images().Import(ctx, req, prog)
			return im.Name, err
		})
	cmd.Flags().StringVar(&req.SHA256, "sha256", "", "the bundle file's `SHA256`, as banger image export printed it; required for http:// URLs")
	cmd.Example = `  banger image import bookworm.tar.zst
  banger image import https://example.com/bookworm.tar.zst --sha256 SHA256`
	return cmd
}

func isURL(s string) bool {
	return len(s) > 7 && (s[:7] == "http://" || (len(s) > 8 && s[:8] == "https://"))
}
