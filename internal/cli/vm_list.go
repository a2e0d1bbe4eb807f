package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/config"
)

func newVMListCmd(a *app) *cobra.Command {
	cmd := lister[api.VM]{
		use:   "list",
		short: "List VMs",
		long:  "List every VM with its state, image, driver, size, address, network policy and forwarded ports (HOSTADDR:HOSTPORT->GUESTPORT/PROTO, as Docker shows them; * is a free port yet to be picked).",
		example: `  banger vm list
  banger vm ls --json`,
		fetch: func(ctx context.Context, c *client.Client, _ []string) ([]api.VM, error) {
			return c.ListVMs(ctx)
		},
		name:   func(v api.VM) string { return v.Name },
		empty:  "No VMs. `banger vm run` boots one.",
		header: []string{"NAME", "STATE", "IMAGE", "VMM", "VCPU", "MEMORY", "DISK", "IP", "NETWORK", "PORTS", "CREATED"},
		row: func(now time.Time, v api.VM) []string {
			return []string{v.Name, v.State, v.Image, orDash(v.VMM), strconv.Itoa(v.VCPU),
				fmt.Sprintf("%d MiB", v.MemoryMiB), config.Size(v.DiskBytes).String(), orDash(v.IP), orDash(v.Network), orDash(portsLine(v.Ports)), ago(now, v.CreatedAt)}
		},
	}.command(a)
	cmd.SuggestFor = []string{"ps"} // what Docker users type
	return cmd
}
