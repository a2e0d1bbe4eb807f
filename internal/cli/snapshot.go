package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/progress"
	"banger/internal/vmname"
)

func newVMSnapshotCmd(a *app) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "snapshot VM [--name SNAPSHOT]",
		Short: "Save a running VM whole: memory, processes and disks",
		Long: `Save a running VM as a snapshot: its memory and device state, and copies of
its root and work disks. The VM is paused while that is written, then runs
on as before.

` + "`banger vm create --from-snapshot SNAPSHOT`" + ` (or vm run) makes new VMs from it:
each goes on from the moment of the snapshot, with the same files in / and
/root and the same processes, but under its own name, address, MAC, machine
id and ssh host key.

A snapshot takes about as much disk as the VM has memory in use plus what
its disks hold. It restores only on the VMM and accelerator it was taken
on, and needs its image and kernel, which cannot be removed while it
exists. ` + "`banger snapshot list`" + ` shows snapshots, ` + "`banger snapshot rm`" + ` removes them.`,
		Example: `  banger vm snapshot box
  banger vm snapshot box --name box-ready`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if name != "" {
				if err := vmname.ValidateResource("snapshot", name); err != nil {
					return err
				}
			}
			var sn api.Snapshot
			prog, finish := newProgress(a.stderr)
			err := a.call(ctx, func(c *client.Client) (err error) {
				sn, err = c.Snapshots().Take(ctx, args[0], api.SnapshotVMRequest{Name: name}, prog)
				return err
			})
			finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "saved %s of VM %s: %s on disk; `banger vm create --from-snapshot %s` makes VMs from it\n", sn.Name, sn.VM, progress.Bytes(sn.Bytes), sn.Name)
			_, err = fmt.Fprintln(a.stdout, sn.Name)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "snapshot name: letters, digits, '-', '.', '_' (default: VM-YYYYMMDD-HHMMSS)")
	_ = cmd.RegisterFlagCompletionFunc("name", cobra.NoFileCompletions)
	return cmd
}

func newSnapshotCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Manage snapshots of VMs",
		Long: `Manage snapshots: running VMs saved whole by ` + "`banger vm snapshot VM`" + `,
from which ` + "`banger vm create --from-snapshot SNAPSHOT`" + ` makes new VMs.`,
	}
	cmd.AddCommand(lister[api.Snapshot]{
		use:   "list",
		short: "List snapshots",
		long:  "List the snapshots on this machine, oldest first, with the VM each was taken of.",
		example: `  banger snapshot list
  banger snapshot ls --json`,
		fetch: func(ctx context.Context, c *client.Client, _ []string) ([]api.Snapshot, error) {
			return c.Snapshots().List(ctx)
		},
		name:   func(sn api.Snapshot) string { return sn.Name },
		empty:  "No snapshots. `banger vm snapshot VM` saves a running VM.",
		header: []string{"NAME", "VM", "IMAGE", "SPEC", "VMM", "SIZE", "CREATED"},
		row: func(now time.Time, sn api.Snapshot) []string {
			return []string{sn.Name, sn.VM, sn.Image, fmt.Sprintf("%d vcpu, %d MiB", sn.VCPU, sn.MemoryMiB),
				sn.VMM + "/" + sn.Accel, progress.Bytes(sn.Bytes), ago(now, sn.CreatedAt)}
		},
	}.command(a), newSnapshotShowCmd(a),
		rmCmd(a, "snapshot", a.complete.snapshotArgs, func(ctx context.Context, c *client.Client, name string) error {
			return c.Snapshots().Delete(ctx, name)
		}))
	return cmd
}

func newSnapshotShowCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show SNAPSHOT",
		Short: "Show one snapshot in detail",
		Long:  "Show a snapshot's VM, image, kernel, size, VMM and accelerator, and the space it takes.",
		Example: `  banger snapshot show box-ready
  banger snapshot show box-ready --json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.snapshotArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var sn api.Snapshot
			err := a.call(ctx, func(c *client.Client) (err error) {
				sn, err = c.Snapshots().Get(ctx, args[0])
				return err
			})
			if err != nil {
				return err
			}
			return showDetail(a.stdout, asJSON, sn, [][2]string{
				{"name", sn.Name}, {"vm", sn.VM}, {"image", sn.Image}, {"kernel", sn.Kernel},
				{"vcpu", fmt.Sprint(sn.VCPU)}, {"memory", fmt.Sprintf("%d MiB", sn.MemoryMiB)},
				{"work disk", progress.Bytes(sn.DiskBytes)}, {"vmm", sn.VMM + "/" + sn.Accel},
				{"on disk", progress.Bytes(sn.Bytes)}, {"created", sn.CreatedAt.Local().Format(time.DateTime)},
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
