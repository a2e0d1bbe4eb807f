package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/progress"
)

// vmEach runs fn for every named VM, reporting each failure and
// returning them all joined. Each failure names its VM, once.
func (a *app) vmEach(ctx context.Context, names []string, fn func(c *client.Client, name string) error) error {
	var errs []error
	for _, name := range names {
		err := a.call(ctx, func(c *client.Client) error { return fn(c, name) })
		if err != nil && !strings.Contains(err.Error(), name) {
			err = fmt.Errorf("%s: %w", name, err)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// bootCmd builds `vm start` and `vm restart`: boot each named VM with
// progress and say where it runs.
func bootCmd(a *app, use, short, long string, boot func(c *client.Client, ctx context.Context, name string, prog progress.Func) (api.VM, error)) *cobra.Command {
	return &cobra.Command{
		Use:               use,
		Short:             short,
		Long:              long,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.vmEach(ctx, args, func(c *client.Client, name string) error {
				prog, finish := newProgress(a.stderr)
				vm, err := boot(c, ctx, name, prog)
				finish()
				if err == nil {
					fmt.Fprintf(a.stdout, "%s running at %s\n", vm.Name, vm.IP)
				}
				return err
			})
		},
	}
}

func newVMStartCmd(a *app) *cobra.Command {
	var cold bool
	cmd := withExample(bootCmd(a, "start NAME...", "Boot stopped VMs, resume suspended ones",
		`Boot one or more stopped VMs and wait until each guest is ready for ssh.
A suspended VM (see `+"`banger vm suspend`"+`) is resumed from its saved state
instead: its processes go on where they were. --cold boots a suspended VM
afresh from its disks, discarding what ran in its memory. Starting a
running VM does nothing.`,
		func(c *client.Client, ctx context.Context, name string, prog progress.Func) (api.VM, error) {
			return a.startVM(cold)(c, ctx, name, prog)
		}), "  banger vm start box\n  banger vm start box other\n  banger vm start --cold box   # a suspended VM, booted afresh")
	cmd.Flags().BoolVar(&cold, "cold", false, "boot suspended VMs afresh from their disks, discarding their saved memory")
	return cmd
}

func newVMStopCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "stop NAME...",
		Short: "Power VMs off",
		Long: `Power one or more VMs off. The guest agent is asked to shut the guest
down; failing that, the guest gets an ACPI power-button press (or
Firecracker's Ctrl-Alt-Del). After up to 30 s its VMM is killed. Disks are
kept: ` + "`banger vm start`" + ` boots the VM again. Stopping a suspended VM
discards its saved state (what ran in its memory) and leaves it stopped.`,
		Example: `  banger vm stop box
  banger vm stop box other`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.vmEach(ctx, args, func(c *client.Client, name string) error {
				before, err := c.GetVM(ctx, name)
				if err != nil {
					return err
				}
				if _, err := c.StopVM(ctx, name); err != nil {
					return err
				}
				if before.State == "suspended" {
					fmt.Fprintf(a.stdout, "%s stopped; its saved state was discarded\n", name)
				} else {
					fmt.Fprintf(a.stdout, "%s stopped\n", name)
				}
				return nil
			})
		},
	}
}

func newVMRestartCmd(a *app) *cobra.Command {
	return withExample(bootCmd(a, "restart NAME...", "Stop VMs and boot them again",
		"Power one or more VMs off (as `vm stop` does) and boot them again (as `vm start` does).",
		(*client.Client).RestartVM), "  banger vm restart box")
}

func newVMDeleteCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "delete NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete VMs and their disks",
		Long: `Delete one or more VMs with their disks, addresses and logs. A running VM is
refused unless --force is given, which kills it first.`,
		Example: `  banger vm delete box
  banger vm delete --force box other`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.vmEach(ctx, args, func(c *client.Client, name string) error {
				err := c.DeleteVM(ctx, name, force)
				if err == nil {
					fmt.Fprintf(a.stdout, "%s deleted\n", name)
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill and delete running VMs too")
	return cmd
}
