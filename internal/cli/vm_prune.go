package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

// VMPruneOptions are the inputs of `banger vm prune`.
type VMPruneOptions struct {
	Force    bool // remove without asking
	DryRun   bool // only list what would be removed
	Terminal bool // Stdin is a terminal, so banger may ask
	Stdin    io.Reader
	Stdout   io.Writer
}

func newVMPruneCmd(a *app) *cobra.Command {
	opts := VMPruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete every stopped VM",
		Long: `Delete every stopped VM with its disk, address and logs. banger lists them
and asks first; --force removes them without asking, and --dry-run only lists
them. Without a terminal to ask on, banger removes nothing unless --force is
given. Running VMs are left alone.`,
		Example: `  banger vm prune --dry-run
  banger vm prune
  banger vm prune --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdin, opts.Stdout = a.stdin, a.stdout
			opts.Terminal = isTerminalReader(a.stdin)
			return a.vmPrune(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "remove without asking")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "only list the VMs that would be removed")
	return cmd
}

func (a *app) vmPrune(ctx context.Context, opts VMPruneOptions) error {
	var vms []api.VM
	err := a.call(ctx, func(c *client.Client) (err error) {
		vms, err = c.ListVMs(ctx)
		return err
	})
	if err != nil {
		return err
	}
	stopped := stoppedVMs(vms)
	if len(stopped) == 0 {
		_, err := fmt.Fprintln(opts.Stdout, "No stopped VMs.")
		return err
	}
	verb := "remove"
	if opts.DryRun {
		verb = "would remove"
	}
	fmt.Fprintf(opts.Stdout, "%s %d stopped %s: %s\n", verb, len(stopped), plural(len(stopped), "VM"), strings.Join(stopped, " "))
	if opts.DryRun {
		return nil
	}
	if !opts.Force {
		if !opts.Terminal {
			return errdefs.FailedPrecondition("stdin is not a terminal, so banger cannot ask before deleting: pass --force to delete them, or --dry-run to only list them")
		}
		ok, err := confirm(opts.Stdin, opts.Stdout, "Delete them with their disks? [y/N] ")
		if err != nil || !ok {
			fmt.Fprintln(opts.Stdout, "Nothing removed.")
			return err
		}
	}
	return a.deleteVMs(ctx, stopped, opts.Stdout)
}

// stoppedVMs names the VMs that prune removes.
func stoppedVMs(vms []api.VM) []string {
	var names []string
	for _, v := range vms {
		if v.State == "stopped" {
			names = append(names, v.Name)
		}
	}
	return names
}

// deleteVMs deletes each VM, as `vm delete` does, reporting every
// failure. A VM started since it was listed is refused, not killed.
func (a *app) deleteVMs(ctx context.Context, names []string, stdout io.Writer) error {
	return a.vmEach(ctx, names, func(c *client.Client, name string) error {
		err := c.DeleteVM(ctx, name, false)
		if err == nil {
			fmt.Fprintf(stdout, "%s deleted\n", name)
		}
		return err
	})
}

// confirm asks question on w and says whether the answer read from r is
// yes; anything else, or no answer, is no.
func confirm(r io.Reader, w io.Writer, question string) (bool, error) {
	fmt.Fprint(w, question)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
