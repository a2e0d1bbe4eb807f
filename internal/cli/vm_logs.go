package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
)

// VMLogsOptions are the inputs of `banger vm logs`.
type VMLogsOptions struct {
	Name   string
	Follow bool
	// Strip drops escape sequences and control characters: the output
	// goes to a terminal and --raw was not given.
	Strip  bool
	Stdout io.Writer
}

func newVMLogsCmd(a *app) *cobra.Command {
	opts := VMLogsOptions{}
	var raw bool
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Print a VM's console log",
		Long: `Print what the VM's kernel and init wrote to its serial console during its
last boot: the place to look when a VM does not come up. With -f, keep
printing as the guest writes, until the VM stops or you press Ctrl-C.

The log is kept to about twice console_log_max (see banger config show);
older output is dropped. On a terminal, the guest's escape sequences and
control characters are stripped, so that it cannot drive your terminal;
--raw prints the log as the guest wrote it, as does output to a pipe or a
file.`,
		Example: `  banger vm logs box
  banger vm logs -f box`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Stdout = args[0], a.stdout
			opts.Strip = !raw && isTerminal(a.stdout)
			err := a.vmLogs(cmd.Context(), opts)
			if opts.Follow && cmd.Context().Err() != nil {
				return nil // Ctrl-C ends following; that is not a failure
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new output")
	cmd.Flags().BoolVar(&raw, "raw", false, "print escape sequences and control characters as they are, even to a terminal")
	return cmd
}

func (a *app) vmLogs(ctx context.Context, opts VMLogsOptions) error {
	w := opts.Stdout
	var sw *stripWriter
	if opts.Strip {
		sw = newStripWriter(w)
		w = sw
	}
	err := a.call(ctx, func(c *client.Client) error {
		return c.VMLogs(ctx, opts.Name, opts.Follow, w)
	})
	if sw != nil {
		if ferr := sw.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}
