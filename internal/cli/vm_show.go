package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/config"
)

// VMShowOptions are the inputs of `banger vm show`.
type VMShowOptions struct {
	Name   string
	JSON   bool
	Stdout io.Writer
}

func newVMShowCmd(a *app) *cobra.Command {
	opts := VMShowOptions{}
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show one VM in detail",
		Long:  "Show everything banger knows about one VM: state, image, kernel, driver, size, address, network policy, forwarded ports, when it expires and its labels.",
		Example: `  banger vm show box
  banger vm show box --json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Stdout = args[0], a.stdout
			return a.vmShow(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func (a *app) vmShow(ctx context.Context, opts VMShowOptions) error {
	var vm api.VM
	err := a.call(ctx, func(c *client.Client) (err error) {
		vm, err = c.GetVM(ctx, opts.Name)
		return err
	})
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(opts.Stdout, vm)
	}
	t := newTable(opts.Stdout, "name:", vm.Name)
	t.row("state:", vm.State)
	t.row("image:", vm.Image)
	t.row("kernel:", orDash(vm.Kernel))
	vmmLine := orDash(vm.VMM)
	if vm.Accel != "" {
		vmmLine += " (" + vm.Accel + ")"
	}
	t.row("vmm:", vmmLine)
	t.row("spec:", fmt.Sprintf("%d vcpu · %d MiB · %s disk", vm.VCPU, vm.MemoryMiB, config.Size(vm.DiskBytes)))
	t.row("ip:", orDash(vm.IP))
	t.row("network:", orDash(vm.Network))
	t.row("ports:", orDash(portsLine(vm.Ports)))
	t.row("root:", orDash(vm.RootMode))
	// The last error can quote the guest's console over several lines.
	if vm.LastError != "" {
		label := "last error:"
		for _, line := range strings.Split(strings.TrimRight(vm.LastError, "\n"), "\n") {
			t.row(label, line)
			label = ""
		}
	}
	t.row("created:", vm.CreatedAt.Local().Format("2006-01-02 15:04:05"))
	t.row("expires:", showExpiry(time.Now(), vm.ExpiresAt))
	showLabels(t, vm.Labels)
	return t.flush()
}

// showExpiry is the expires row: "never", or the time and how far off.
func showExpiry(now, at time.Time) string {
	if at.IsZero() {
		return "never"
	}
	return at.Local().Format("2006-01-02 15:04:05") + " (" + until(now, at) + ")"
}

// showLabels writes the labels rows, one KEY=VALUE each, or "-".
func showLabels(t *table, labels map[string]string) {
	lines := labelLines(labels)
	if len(lines) == 0 {
		t.row("labels:", "-")
	}
	head := "labels:"
	for _, line := range lines {
		t.row(head, line)
		head = ""
	}
}
