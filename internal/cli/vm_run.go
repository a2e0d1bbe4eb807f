package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
	"banger/internal/errdefs"
)

// exitBangerFailure is vm run's status when banger itself fails, as
// opposed to the guest command, whose own status passes through.
const exitBangerFailure = 125

// VMRunOptions are the inputs of `banger vm run`.
type VMRunOptions struct {
	Spec           VMSpecOptions
	Path           string   // workspace to copy in; "" for a bare sandbox
	Command        []string // guest command after "--"; empty for a shell
	Remove         bool
	Stdout, Stderr io.Writer
}

func newVMRunCmd(a *app) *cobra.Command {
	opts := VMRunOptions{}
	cmd := &cobra.Command{
		Use:   "run [PATH] [flags] [-- COMMAND...]",
		Short: "Boot a fresh VM and open a shell in it, or run a command",
		Long: `Create a VM, boot it and connect to it in one step.

  banger vm run                      a bare sandbox: opens an ssh shell
  banger vm run -- make test         runs the command, exits with its status
  banger vm run --rm -- ./script.sh  the VM is deleted when the command ends

The image and kernel are pulled on demand. Leaving the shell keeps the VM
running; use --rm to delete it on exit.

Exit status: in command mode, the guest command's own status. When banger
itself fails (bad flags, no image, a VM that does not boot) the status is
125, so scripts can tell the two apart.

` + specHelp(a),
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdout, opts.Stderr = a.stdout, a.stderr
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				opts.Command = args[dash:]
				args = args[:dash]
			}
			if len(args) > 1 {
				return &ExitError{Code: exitBangerFailure, Err: errdefs.InvalidArgument("vm run takes at most one PATH before --, got %q; put the command after --", args)}
			}
			if len(args) == 1 {
				opts.Path = args[0]
			}
			if err := a.vmRun(cmd.Context(), opts); err != nil {
				return &ExitError{Code: exitBangerFailure, Err: err}
			}
			return nil
		},
	}
	a.addSpecFlags(cmd, &opts.Spec)
	cmd.Flags().BoolVar(&opts.Remove, "rm", false, "delete the VM when the shell or command exits")
	return cmd
}

func (a *app) vmRun(ctx context.Context, opts VMRunOptions) error {
	if opts.Path != "" {
		return errdefs.FailedPrecondition("workspace mode (vm run PATH) is not available in this version yet")
	}
	req, err := opts.Spec.request()
	if err != nil {
		return err
	}
	printSpec(opts.Stderr, req)
	return a.call(ctx, func(c *client.Client) error {
		_, err := c.CreateVM(ctx, req)
		return err
	})
}
