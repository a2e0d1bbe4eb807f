package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/label"
)

// labelHelp says what a label may be; vm create, vm run and vm label
// show it.
const labelHelp = `Labels: KEY=VALUE pairs that say what a VM is for, for you and for programs
(` + "`banger vm list --label KEY=VALUE`" + ` finds VMs by them). A KEY is a NAME of at
most 63 letters, digits, '.', '_' and '-', starting and ending with a letter
or digit, with an optional lowercase DNS name and '/' before it
(example.com/owner). A VALUE is up to 256 bytes of printable text, empty
included. A VM has at most 64 labels.`

// VMLabelOptions are the inputs of `banger vm label`.
type VMLabelOptions struct {
	Name   string
	Edits  []string // KEY=VALUE sets KEY, KEY- removes it
	Stdout io.Writer
}

func newVMLabelCmd(a *app) *cobra.Command {
	opts := VMLabelOptions{}
	return &cobra.Command{
		Use:   "label NAME [KEY=VALUE | KEY-]...",
		Short: "Set or remove a VM's labels",
		Long: `Set labels on a VM (KEY=VALUE), remove them (KEY-), or, with none, print
them. Other labels stay as they are. It prints the VM's labels after the
change, one KEY=VALUE a line. ` + "`banger vm create --label`" + ` labels a VM as it is made.

` + labelHelp,
		Example: `  banger vm label box team=infra owner=me
  banger vm label box owner-
  banger vm label box
  banger vm list --label team=infra`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Edits, opts.Stdout = args[0], args[1:], a.stdout
			return a.vmLabel(cmd.Context(), opts)
		},
	}
}

// vmLabel reads the VM's labels, applies the edits and sends the whole
// new set: the daemon replaces a VM's labels at once.
func (a *app) vmLabel(ctx context.Context, opts VMLabelOptions) error {
	if _, err := label.Edit(nil, opts.Edits); err != nil {
		return err // a typo should not wait for the daemon
	}
	var vm api.VM
	err := a.call(ctx, func(c *client.Client) (err error) {
		if vm, err = c.GetVM(ctx, opts.Name); err != nil || len(opts.Edits) == 0 {
			return err
		}
		labels, err := label.Edit(vm.Labels, opts.Edits)
		if err != nil {
			return err
		}
		vm, err = c.SetVMLabels(ctx, opts.Name, labels)
		return err
	})
	if err != nil {
		return err
	}
	for _, line := range labelLines(vm.Labels) {
		fmt.Fprintln(opts.Stdout, safeLine(line))
	}
	return nil
}

// labelLines are labels as KEY=VALUE, by key.
func labelLines(labels map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		out = append(out, k+"="+labels[k])
	}
	return out
}
