package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

// VMExpireOptions are the inputs of `banger vm expire`.
type VMExpireOptions struct {
	Name   string
	TTL    string // a duration from now, or "never"
	Stdout io.Writer
}

func newVMExpireCmd(a *app) *cobra.Command {
	opts := VMExpireOptions{}
	return &cobra.Command{
		Use:   "expire NAME DURATION|never",
		Short: "Say when a VM is deleted on its own",
		Long: `Set how long a VM lives from now: once DURATION has passed, bangerd deletes
it, running or not, with its disks, as ` + "`banger vm delete --force`" + ` would.
"never" keeps it until it is deleted by hand. ` + "`banger vm create --ttl`" + ` and
` + "`banger vm run --ttl`" + ` set it when a VM is made; ` + "`banger vm show`" + ` and
` + "`banger vm list`" + ` say when a VM expires.

DURATION is a number with a unit: s, m, h or d (days), or a sum such as
1h30m. bangerd keeps the expiry with the VM: a VM that expires while no
bangerd runs is deleted when one starts.`,
		Example: `  banger vm expire box 2h
  banger vm expire box 7d
  banger vm expire box never`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.TTL, opts.Stdout = args[0], args[1], a.stdout
			return a.vmExpire(cmd.Context(), opts)
		},
	}
}

func (a *app) vmExpire(ctx context.Context, opts VMExpireOptions) error {
	var at time.Time
	if opts.TTL != "never" {
		d, err := parseTTL(opts.TTL)
		if err != nil {
			return err
		}
		at = time.Now().Add(d).UTC()
	}
	var vm api.VM
	err := a.call(ctx, func(c *client.Client) (err error) {
		vm, err = c.SetVMExpiry(ctx, opts.Name, at)
		return err
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.Stdout, "VM %s %s\n", vm.Name, expiryLine(time.Now(), vm.ExpiresAt))
	return err
}

// expiryLine says when a VM expires, for a sentence: "expires at ... (in
// 2h)" or "never expires".
func expiryLine(now, at time.Time) string {
	if at.IsZero() {
		return "never expires"
	}
	return "expires at " + at.Local().Format("2006-01-02 15:04:05") + " (" + until(now, at) + ")"
}

// until is how long from now to at, roughly, as a table shows it:
// "in 5m", "in 3h", "in 2d", "due" once it has passed.
func until(now, at time.Time) string {
	d := at.Sub(now)
	switch {
	case at.IsZero():
		return "-"
	case d <= 0:
		return "due"
	case d < time.Minute:
		return fmt.Sprintf("in %ds", (d+time.Second-1)/time.Second) // 0.2s is "in 1s"
	case d < time.Hour:
		return fmt.Sprintf("in %dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("in %dh", int(d.Hours()))
	}
	return fmt.Sprintf("in %dd", int(d.Hours()/24))
}

// parseTTL reads a positive duration: Go's (30s, 1h30m) or whole days
// (7d).
func parseTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		n, nerr := strconv.Atoi(days)
		if nerr == nil && n > 0 && n <= 3650 {
			d, err = time.Duration(n)*24*time.Hour, nil
		}
	}
	if err != nil || d <= 0 {
		return 0, errdefs.InvalidArgument("duration %q: want a positive number with a unit, s, m, h or d (days), such as 30m, 2h or 7d", s)
	}
	return d, nil
}

// ttlValue lets --ttl take what parseTTL reads.
type ttlValue struct{ d *time.Duration }

func (v ttlValue) String() string {
	if *v.d == 0 {
		return ""
	}
	return v.d.String()
}
func (v ttlValue) Type() string { return "duration" }
func (v ttlValue) Set(s string) error {
	d, err := parseTTL(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}
