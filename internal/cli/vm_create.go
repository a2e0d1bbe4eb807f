package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// VMCreateOptions are the inputs of `banger vm create`.
type VMCreateOptions struct {
	Spec           VMSpecOptions
	Stdout, Stderr io.Writer
}

func newVMCreateCmd(a *app) *cobra.Command {
	opts := VMCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create [flags]",
		Short: "Create and boot a VM without connecting to it",
		Long: `Create a VM from an image and boot it, without opening a shell.

It prints a spec line with the VM's size first, then the VM's name.

` + specHelp(a),
		Example: `  banger vm create
  banger vm create --name box --vcpu 2 --memory 2048 --disk-size 16G
  banger vm create --image debian-bookworm --kernel debian-6.1-cloud
  banger vm create --name clone --from-snapshot box-ready
  banger vm create --network none
  banger vm create --label team=infra --label ci.example.com/job=42 --ttl 2h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Stdout, opts.Stderr = a.stdout, a.stderr
			return a.vmCreate(cmd.Context(), opts)
		},
	}
	a.addSpecFlags(cmd, &opts.Spec)
	return cmd
}

func (a *app) vmCreate(ctx context.Context, opts VMCreateOptions) error {
	req, err := opts.Spec.request()
	if err != nil {
		return err
	}
	printSpec(opts.Stderr, req)
	vm, err := a.createAndWait(ctx, req, opts.Stderr)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.Stdout, vm.Name)
	return err
}
