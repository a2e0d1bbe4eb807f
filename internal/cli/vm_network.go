package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/network/netpolicy"
)

// networkHelp explains the policies; vm create, vm run and vm network
// show it.
const networkHelp = `Network: a VM's policy says what it may reach; --network sets it (default:
network_policy in the config, else internet), ` + "`banger vm network`" + ` changes it.
  internet              public addresses, DNS on the gateway and other VMs;
                        not the host's services, the LAN (RFC 1918), 100.64/10
                        or link-local addresses such as 169.254.169.254
  none                  no network at all; vm exec, sessions and vm run (its
                        shell too) work through banger's agent; ssh does not
  allow=LIST            only what LIST names: CIDRs, addresses or domain
                        names, each with an optional :PORT. A domain is
                        reached at the addresses banger's DNS gave the VM
                        for that exact name (not its subdomains); other names
                        do not resolve
  open                  anything the host can reach, the LAN included
Every VM may only send with its own MAC and address. Connections into a VM
start only from the host (ssh, NAME.vm) and from other VMs whose policy lets
them out to it; from other machines only under open; under none, from nowhere.

  --network none
  --network allow=10.1.2.0/24,github.com:443,203.0.113.7:22`

// VMNetworkOptions are the inputs of `banger vm network`.
type VMNetworkOptions struct {
	Name    string
	Network string
	Stdout  io.Writer
}

func newVMNetworkCmd(a *app) *cobra.Command {
	opts := VMNetworkOptions{}
	return &cobra.Command{
		Use:   "network NAME POLICY",
		Short: "Change what a VM may reach on the network",
		Long: `Give a VM another network policy. A running VM's rules change before the
command returns, connections the new policy refuses included; a stopped VM
gets it when it starts. ` + "`banger vm show NAME`" + ` says a VM's policy.

` + networkHelp,
		Example: `  banger vm network box none
  banger vm network box allow=github.com:443,10.1.2.0/24
  banger vm network box internet`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: a.completeVMNetwork,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Network, opts.Stdout = args[0], args[1], a.stdout
			return a.vmNetwork(cmd.Context(), opts)
		},
	}
}

func (a *app) vmNetwork(ctx context.Context, opts VMNetworkOptions) error {
	policy, err := netpolicy.Parse(opts.Network)
	if err != nil {
		return err
	}
	var vm api.VM
	err = a.call(ctx, func(c *client.Client) (err error) {
		vm, err = c.SetVMNetwork(ctx, opts.Name, api.SetNetworkRequest{Network: policy.String()})
		return err
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.Stdout, "%s network %s\n", vm.Name, vm.Network)
	return err
}

// completeVMNetwork completes a VM name, then a policy.
func (a *app) completeVMNetwork(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return a.complete.vms(cmd, args, toComplete)
	}
	if len(args) == 1 {
		return completePolicies(cmd, args, toComplete)
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// completePolicies offers the policy forms.
func completePolicies(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{
		string(netpolicy.Internet) + "\tpublic addresses and other VMs",
		string(netpolicy.None) + "\tno network",
		string(netpolicy.Allow) + "=\tonly the listed destinations",
		string(netpolicy.Open) + "\teverything, the LAN included",
	}, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
