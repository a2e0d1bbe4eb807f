package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
	"banger/internal/paths"
)

// kubeletCLIEnv tells banger-kubelet where this banger is, to run its
// doctor (kubelet.CLIEnv; the CLI does not link the kubelet).
const kubeletCLIEnv = "BANGER_CLI"

func newKubeletCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "kubelet [flags]",
		Short: "Join a Kubernetes cluster as a node whose pods are banger VMs",
		Long: `Register this host as a Kubernetes node whose pods run as banger VMs, one VM
per pod. It runs banger-kubelet, installed next to the guest agent, with the
flags given, once bangerd runs; ` + "`banger kubelet --help`" + ` lists them.
See docs/kubernetes.md.`,
		Example: `  banger kubelet --kubeconfig ~/.kube/config
  banger kubelet --help`,
		Args:               cobra.ArbitraryArgs,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if slices.ContainsFunc(args, func(s string) bool { return s == "-h" || s == "--help" }) {
				return a.kubeletHelp(cmd)
			}
			return a.kubelet(cmd.Context(), args)
		},
	}
}

// kubeletHelp prints banger-kubelet's help, with its flags; without the
// binary, this command's own and where it is missing.
func (a *app) kubeletHelp(cmd *cobra.Command) error {
	bin, err := paths.KubeletBinary()
	if err != nil {
		if herr := cmd.Help(); herr != nil {
			return herr
		}
		fmt.Fprintf(a.stdout, "\nIts flags are banger-kubelet's, which is missing: %v\n", err)
		return nil
	}
	c := exec.CommandContext(cmd.Context(), bin, "--help")
	c.Stdout, c.Stderr = a.stdout, a.stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("running %s --help: %w", bin, err)
	}
	return nil
}

// kubelet starts bangerd when needed, then becomes banger-kubelet.
func (a *app) kubelet(ctx context.Context, args []string) error {
	bin, err := paths.KubeletBinary()
	if err != nil {
		return err
	}
	err = a.call(ctx, func(c *client.Client) error {
		_, err := c.Daemon(ctx)
		return err
	})
	if err != nil {
		return err
	}
	env := os.Environ()
	if exe, err := os.Executable(); err == nil {
		env = append(env, kubeletCLIEnv+"="+exe)
	}
	if err := syscall.Exec(bin, append([]string{paths.KubeletName}, args...), env); err != nil {
		return fmt.Errorf("running %s: %w", bin, err)
	}
	return nil
}
