package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
)

// completionTimeout keeps a tab press snappy when the daemon is slow.
const completionTimeout = time.Second

func newCompletionCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion SHELL",
		Short: "Print a shell completion script",
		Long: `Print the completion script for bash, zsh, fish or powershell.

Completion covers commands, flags and the names of your VMs, images, kernels
and sessions, which it asks the running daemon for. When the daemon is not
running, names complete to nothing; completion never starts the daemon and
never falls back to file names.

Loading the script:

  bash (needs the bash-completion package)
    banger completion bash | sudo tee /etc/bash_completion.d/banger
    # or, for this shell only:  source <(banger completion bash)

  zsh (~/.zfunc must be on your fpath, before compinit runs)
    banger completion zsh > ~/.zfunc/_banger

  fish
    banger completion fish > ~/.config/fish/completions/banger.fish

  powershell
    banger completion powershell | Out-String | Invoke-Expression
    # add that line to your $PROFILE to keep it

Open a new shell afterwards.`,
		Args: cobra.NoArgs,
	}
	shells := []struct {
		name, example string
		gen           func(root *cobra.Command, w io.Writer) error
	}{
		{"bash", "source <(banger completion bash)", func(r *cobra.Command, w io.Writer) error { return r.GenBashCompletionV2(w, true) }},
		{"zsh", "banger completion zsh > ~/.zfunc/_banger", func(r *cobra.Command, w io.Writer) error { return r.GenZshCompletion(w) }},
		{"fish", "banger completion fish > ~/.config/fish/completions/banger.fish", func(r *cobra.Command, w io.Writer) error { return r.GenFishCompletion(w, true) }},
		{"powershell", "banger completion powershell | Out-String | Invoke-Expression", func(r *cobra.Command, w io.Writer) error { return r.GenPowerShellCompletionWithDesc(w) }},
	}
	for _, sh := range shells {
		cmd.AddCommand(&cobra.Command{
			Use:               sh.name,
			Short:             "Print the " + sh.name + " completion script",
			Long:              fmt.Sprintf("Print the %s completion script to stdout. See `banger completion --help` for how to load it.", sh.name),
			Example:           "  " + sh.example,
			Args:              cobra.NoArgs,
			ValidArgsFunction: cobra.NoFileCompletions,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return sh.gen(cmd.Root(), a.stdout)
			},
		})
	}
	return cmd
}

// completer completes names on the command line from the daemon's
// lists.
type completer struct{ a *app }

// names asks the daemon for names with list. A daemon that is down,
// slow or of another version gives no names, and never file names.
func (c completer) names(list func(ctx context.Context, c *client.Client) ([]string, error), toComplete string) ([]string, cobra.ShellCompDirective) {
	if c.a.ready() != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	names, err := list(ctx, c.a.ctl.Client)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// vms completes the first argument with VM names.
func (c completer) vms(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return c.names(func(ctx context.Context, cl *client.Client) ([]string, error) {
		vms, err := cl.ListVMs(ctx)
		return namesOf(vms, func(i int) string { return vms[i].Name }), err
	}, toComplete)
}

// images completes image names (for --image).
func (c completer) images(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return c.names(func(ctx context.Context, cl *client.Client) ([]string, error) {
		images, err := cl.Images().List(ctx)
		return namesOf(images, func(i int) string { return images[i].Name }), err
	}, toComplete)
}

// kernels completes kernel names (for --kernel).
func (c completer) kernels(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return c.names(func(ctx context.Context, cl *client.Client) ([]string, error) {
		kernels, err := cl.Kernels().List(ctx)
		return namesOf(kernels, func(i int) string { return kernels[i].Name }), err
	}, toComplete)
}

// snapshots completes snapshot names (for --from-snapshot).
func (c completer) snapshots(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return c.names(func(ctx context.Context, cl *client.Client) ([]string, error) {
		snaps, err := cl.Snapshots().List(ctx)
		return namesOf(snaps, func(i int) string { return snaps[i].Name }), err
	}, toComplete)
}

// snapshotArgs completes snapshot names for every argument not
// given yet.
func (c completer) snapshotArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	names, dir := c.snapshots(cmd, args, toComplete)
	return without(names, args), dir
}

// imageArgs completes image names for every argument not given yet.
func (c completer) imageArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	names, dir := c.images(cmd, args, toComplete)
	return without(names, args), dir
}

// kernelArgs completes kernel names for every argument not given yet.
func (c completer) kernelArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	names, dir := c.kernels(cmd, args, toComplete)
	return without(names, args), dir
}

func without(names, given []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(given, n) {
			out = append(out, n)
		}
	}
	return out
}

func namesOf[T any](items []T, name func(int) string) []string {
	out := make([]string, len(items))
	for i := range items {
		out[i] = name(i)
	}
	return out
}
