package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/config"
	"banger/internal/label"
)

func newVMListCmd(a *app) *cobra.Command {
	var labels []string
	cmd := lister[api.VM]{
		use:   "list",
		short: "List VMs",
		long: `List every VM with its state, image, driver, size, address, network policy,
forwarded ports (HOSTADDR:HOSTPORT->GUESTPORT/PROTO, as Docker shows them; *
is a free port yet to be picked) and when it expires (- for never).

--label keeps the VMs whose labels match: KEY=VALUE that value, KEY any
value; given more than once, every one must match. --json shows each VM's
labels; --quiet and --format work with --label too.`,
		example: `  banger vm list
  banger vm ls --json
  banger vm list --label team=infra
  banger vm list -l team=infra -l e2b.dev/sandbox -q`,
		fetch: func(ctx context.Context, c *client.Client, _ []string) ([]api.VM, error) {
			if _, err := label.ParseSelector(labels); err != nil {
				return nil, fmt.Errorf("--label: %w", err)
			}
			return c.ListVMs(ctx, labels...)
		},
		name:  func(v api.VM) string { return v.Name },
		empty: "No VMs. `banger vm run` boots one.",
		emptyNow: func() string {
			if len(labels) > 0 {
				return "No VM has labels " + strings.Join(labels, ", ") + ". `banger vm list --json` shows every VM's labels."
			}
			return "No VMs. `banger vm run` boots one."
		},
		header: []string{"NAME", "STATE", "IMAGE", "VMM", "VCPU", "MEMORY", "DISK", "IP", "NETWORK", "PORTS", "CREATED", "EXPIRES"},
		row: func(now time.Time, v api.VM) []string {
			return []string{v.Name, v.State, v.Image, orDash(v.VMM), strconv.Itoa(v.VCPU),
				fmt.Sprintf("%d MiB", v.MemoryMiB), config.Size(v.DiskBytes).String(), orDash(v.IP), orDash(v.Network), orDash(portsLine(v.Ports)), ago(now, v.CreatedAt), until(now, v.ExpiresAt)}
		},
	}.command(a)
	cmd.Flags().StringArrayVarP(&labels, "label", "l", nil, "only VMs with this label, `KEY=VALUE` or KEY for any value (repeatable: all must match)")
	_ = cmd.RegisterFlagCompletionFunc("label", cobra.NoFileCompletions)
	cmd.SuggestFor = []string{"ps"} // what Docker users type
	return cmd
}
