package cli

import "github.com/spf13/cobra"

func newVMCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vm",
		Short: "Create, run and manage VMs",
		Long: `Create, run and manage VMs.

Most of the time ` + "`banger vm run`" + ` is all you need: it creates a VM, boots it
and opens a shell in it. The other verbs manage VMs one step at a time.`,
	}
	cmd.AddCommand(guestStatusCmd(newVMRunCmd(a)), newVMCreateCmd(a), newVMListCmd(a), newVMShowCmd(a),
		newVMStartCmd(a), newVMStopCmd(a), newVMSuspendCmd(a), newVMRestartCmd(a), newVMDeleteCmd(a),
		newVMLogsCmd(a), guestStatusCmd(newVMSSHCmd(a)), newVMSSHConfigCmd(a), newVMPruneCmd(a), guestStatusCmd(newVMExecCmd(a)),
		newVMSnapshotCmd(a), newVMNetworkCmd(a), newVMCpCmd(a), newVMStatsCmd(a),
		newVMPortForwardCmd(a), newVMWorkspaceCmd(a), newVMLabelCmd(a), newVMExpireCmd(a))
	return cmd
}
