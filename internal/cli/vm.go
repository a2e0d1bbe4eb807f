package cli

import "github.com/spf13/cobra"

// newVMCmd makes the vm group for the command line after "vm", args:
// its verbs are made on demand.
func newVMCmd(a *app, args []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vm",
		Short: "Create, run and manage VMs",
		Long: `Create, run and manage VMs.

Most of the time ` + "`banger vm run`" + ` is all you need: it creates a VM, boots it
and opens a shell in it. The other verbs manage VMs one step at a time.`,
	}
	addVerbs(cmd, args, vmVerbs(a))
	return cmd
}

// vmVerbs are the verbs of banger vm.
func vmVerbs(a *app) []verb {
	guest := func(fn func(*app) *cobra.Command) func([]string) *cobra.Command {
		return func([]string) *cobra.Command { return guestStatusCmd(fn(a)) }
	}
	return []verb{
		{name: "run", make: guest(newVMRunCmd)},
		{name: "create", make: made(newVMCreateCmd, a)},
		{name: "list", aliases: []string{"ls"}, make: made(newVMListCmd, a)},
		{name: "show", make: made(newVMShowCmd, a)},
		{name: "start", make: made(newVMStartCmd, a)},
		{name: "stop", make: made(newVMStopCmd, a)},
		{name: "suspend", make: made(newVMSuspendCmd, a)},
		{name: "restart", make: made(newVMRestartCmd, a)},
		{name: "delete", aliases: []string{"rm"}, make: made(newVMDeleteCmd, a)},
		{name: "logs", make: made(newVMLogsCmd, a)},
		{name: "ssh", make: guest(newVMSSHCmd)},
		{name: "ssh-config", make: made(newVMSSHConfigCmd, a)},
		{name: "prune", make: made(newVMPruneCmd, a)},
		{name: "exec", make: guest(newVMExecCmd)},
		{name: "snapshot", make: made(newVMSnapshotCmd, a)},
		{name: "network", make: made(newVMNetworkCmd, a)},
		{name: "cp", make: made(newVMCpCmd, a)},
		{name: "stats", make: made(newVMStatsCmd, a)},
		{name: "port-forward", make: made(newVMPortForwardCmd, a)},
		{name: "workspace", make: made(newVMWorkspaceCmd, a)},
		{name: "label", make: made(newVMLabelCmd, a)},
		{name: "expire", make: made(newVMExpireCmd, a)},
	}
}
