package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/progress"
)

func newImageWarmCmd(a *app) *cobra.Command {
	var req api.WarmImageRequest
	cmd := &cobra.Command{
		Use:   "warm NAME",
		Short: "Save a booted guest of an image, so VMs of its size start warm",
		Long: `Boot the image once, wait for its guest to be ready, and save its memory
and device state as a warm template. Later VMs of the same image, kernel,
vCPUs and memory are restored from the template instead of booting: they
are ready in a fraction of a cold boot, each with its own name, address,
MAC, machine id, ssh host key and work disk.

vm create and vm run make the template themselves the first time a
combination is used; this command does it ahead of time. Templates are
listed by ` + "`banger image show`" + `, remade when the image, the kernel or banger
changes, and removed with the image. ` + "`--cold`" + ` on vm create and vm run skips
them.`,
		Example: `  banger image warm debian-bookworm
  banger image warm debian-bookworm --vcpu 2 --memory 2G`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.imageArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if _, err := a.config(); err != nil {
				return fmt.Errorf("templates take their size from the config, and it is invalid: %w", err)
			}
			if err := checkTemplateSize(req.VCPU, req.MemoryMiB); err != nil {
				return err
			}
			var t api.WarmTemplate
			prog, finish := newProgress(a.stderr)
			err := a.call(ctx, func(c *client.Client) (err error) {
				t, err = c.Images().Warm(ctx, args[0], req, prog)
				return err
			})
			finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: warm template %s\n", args[0], templateLine(t))
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&req.VCPU, "vcpu", 0, "virtual CPUs of the VMs to start warm")
	f.Var(memoryValue{&req.MemoryMiB}, "memory", memoryUsage+", of the VMs to start warm")
	deferDefaults(cmd, func() {
		d := a.vmDefaults()
		setDefault(f, "vcpu", strconv.Itoa(d.VCPU.V), string(d.VCPU.From))
		setDefault(f, "memory", strconv.Itoa(d.MemoryMiB.V), string(d.MemoryMiB.From))
	})
	return cmd
}

// checkTemplateSize refuses sizes that cannot make a VM at all, before the
// daemon is asked.
func checkTemplateSize(vcpu, memoryMiB int) error {
	if vcpu < 1 {
		return fmt.Errorf("--vcpu %d: a VM needs at least 1 vcpu", vcpu)
	}
	if memoryMiB < 128 {
		return fmt.Errorf("--memory %d: a VM needs at least 128 MiB", memoryMiB)
	}
	return nil
}

// templateLine describes a warm template in one line.
func templateLine(t api.WarmTemplate) string {
	return fmt.Sprintf("%d vcpu · %d MiB · %s/%s · %s on disk", t.VCPU, t.MemoryMiB, t.VMM, t.Accel, progress.Bytes(t.Bytes))
}

// templatesLine lists an image's warm templates for image show.
func templatesLine(ts []api.WarmTemplate) string {
	if len(ts) == 0 {
		return "none (made by the first VM of each size, or `banger image warm`)"
	}
	var parts []string
	for _, t := range ts {
		parts = append(parts, templateLine(t))
	}
	return strings.Join(parts, "; ")
}
