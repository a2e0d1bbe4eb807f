package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/progress"
)

func newKernelCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kernel",
		Short: "Manage guest kernels",
		Long: `Manage the guest kernels that VMs boot.

banger pulls Debian's cloud kernel and builds a small initramfs for it that
loads the virtio drivers; you can also register a kernel of your own.`,
	}
	cmd.AddCommand(lister[api.Kernel]{
		use:   "list",
		short: "List local kernels",
		long:  "List the guest kernels on this machine with their version and source.",
		example: `  banger kernel list
  banger kernel ls --json`,
		fetch: func(ctx context.Context, c *client.Client, _ []string) ([]api.Kernel, error) {
			return c.Kernels().List(ctx)
		},
		name:   func(k api.Kernel) string { return k.Name },
		empty:  "No local kernels. `banger kernel pull debian-6.1-cloud` fetches the default one.",
		header: []string{"NAME", "VERSION", "SOURCE", "CREATED"},
		row: func(now time.Time, k api.Kernel) []string {
			return []string{k.Name, orDash(k.Version), k.Source, ago(now, k.CreatedAt)}
		},
	}.command(a),
		withExample(pullCmd(a, "pull [NAME]", "Fetch a kernel from Debian's archive",
			`Fetch a catalog kernel (default debian-6.1-cloud: Debian 12's cloud kernel)
from Debian's archive. The package is checked, as apt does, from the mirror's
InRelease signed by a key of Debian's archive keyring (debian_keyring in the
config names another) down to the .deb's sha256, so any mirror will do.
banger keeps the compressed kernel for QEMU, extracts an uncompressed vmlinux
for Firecracker, keeps the module tree for images, and builds an initramfs
that loads the virtio drivers.`,
			cobra.NoFileCompletions,
			func(ctx context.Context, c *client.Client, name string, prog progress.Func) (string, error) {
				k, err := c.Kernels().Pull(ctx, name, prog)
				return k.Name + " " + k.Version, err
			}), "  banger kernel pull\n  banger kernel pull debian-6.1-cloud"),
		newKernelShowCmd(a),
		rmCmd(a, "kernel", a.complete.kernelArgs, func(ctx context.Context, c *client.Client, name string) error {
			return c.Kernels().Delete(ctx, name)
		}),
		newKernelRegisterCmd(a),
	)
	return cmd
}

func newKernelShowCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show one kernel in detail",
		Long:  "Show a kernel's version, source, files, and the images and VMs that use it.",
		Example: `  banger kernel show debian-6.1-cloud
  banger kernel show debian-6.1-cloud --json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.kernelArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var d api.KernelDetail
			err := a.call(ctx, func(c *client.Client) (err error) {
				d, err = c.Kernels().Get(ctx, args[0])
				return err
			})
			if err != nil {
				return err
			}
			return showDetail(a.stdout, asJSON, d, [][2]string{
				{"name", d.Name}, {"version", orDash(d.Version)}, {"source", d.Source},
				{"kernel", d.Path}, {"vmlinux", orDash(d.VmlinuxPath)}, {"initrd", orDash(d.InitrdPath)},
				{"used by", usedBy(d.UsedBy)},
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newKernelRegisterCmd(a *app) *cobra.Command {
	var name, initrd string
	cmd := &cobra.Command{
		Use:   "register PATH [--name NAME] [--initrd PATH]",
		Short: "Register a kernel file of your own",
		Long: `Register your own kernel: a bzImage (for QEMU) or an uncompressed ELF vmlinux
(what Firecracker boots on x86, such as a Firecracker CI kernel), with an
optional initrd. banger checks that the file is a kernel and copies it.`,
		Example: `  banger kernel register ./vmlinux --name fc-6.1
  banger kernel register ./bzImage --name my-6.6 --initrd ./initrd.img`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			path, err := hostFile(args[0], "a bzImage or vmlinux kernel")
			if err != nil {
				return err
			}
			if initrd != "" {
				if initrd, err = hostFile(initrd, "an initrd"); err != nil {
					return err
				}
			}
			if name == "" {
				name = filepath.Base(path)
			}
			var k api.Kernel
			err = a.call(ctx, func(c *client.Client) (err error) {
				k, err = c.Kernels().Register(ctx, api.RegisterKernelRequest{Name: name, Path: path, Initrd: initrd})
				return err
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "registered kernel %s\n", k.Name)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name for the kernel (default: the file's name)")
	cmd.Flags().StringVar(&initrd, "initrd", "", "an initrd to boot with it")
	return cmd
}
