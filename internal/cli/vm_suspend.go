package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/progress"
)

func newVMSuspendCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "suspend NAME...",
		Short: "Save running VMs whole and stop them",
		Long: `Save one or more running VMs whole and stop their VMMs: the guest's memory
and device state are written to the VM's own directory, its disks stay as
they are. The VM is listed as suspended and keeps its name, address,
ports and labels; it uses disk space (about its memory in use) but no
CPU or memory.

` + "`banger vm start NAME`" + ` resumes it from that state: the processes in the
guest go on where they were, and its clock is set to the time now.
` + "`banger vm stop NAME`" + ` discards the saved state and leaves the VM stopped;
` + "`banger vm delete NAME`" + ` removes it with the VM.`,
		Example: `  banger vm suspend box
  banger vm start box     # resumes it`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.vmEach(ctx, args, func(c *client.Client, name string) error {
				prog, finish := newProgress(a.stderr)
				_, err := c.SuspendVM(ctx, name, prog)
				finish()
				if err == nil {
					fmt.Fprintf(a.stdout, "%s suspended: `banger vm start %s` resumes it\n", name, name)
				}
				return err
			})
		},
	}
}

// startVM is `vm start`'s call: with cold, a suspended VM's saved state
// is discarded first (as `vm stop` does), so that it boots afresh.
func (a *app) startVM(cold bool) func(c *client.Client, ctx context.Context, name string, prog progress.Func) (api.VM, error) {
	return func(c *client.Client, ctx context.Context, name string, prog progress.Func) (api.VM, error) {
		if cold {
			v, err := c.GetVM(ctx, name)
			if err != nil {
				return api.VM{}, err
			}
			if v.State == "suspended" {
				prog.Note("vm", "discarding "+name+"'s saved state: it boots afresh from its disks")
				if _, err := c.StopVM(ctx, name); err != nil {
					return api.VM{}, err
				}
			}
		}
		return c.StartVM(ctx, name, prog)
	}
}
