package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"banger/internal/version"
)

// versionVerb prints the versions of banger and bangerd, for `banger
// version` and `banger --version`.
type versionVerb struct{ a *app }

func (v versionVerb) command() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print banger's version",
		Long:    "Print the version of this banger CLI and, when it is running, of bangerd. It never starts the daemon. `banger --version` prints the same.",
		Example: "  banger version\n  banger --version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return v.print(cmd.Context())
		},
	}
}

// print prints the CLI's version and the running daemon's.
func (v versionVerb) print(ctx context.Context) error {
	a := v.a
	fmt.Fprintf(a.stdout, "banger  %s\n", version.Version)
	if a.dirsErr != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	if info, err := a.ctl.Client.Daemon(ctx); err == nil {
		fmt.Fprintf(a.stdout, "bangerd %s\n", info.Version)
	} else {
		fmt.Fprintln(a.stdout, "bangerd not running")
	}
	return nil
}

// addFlag gives root a --version flag that prints what `banger version`
// does. A group invoked alone prints its help; so does root without
// --version.
func (v versionVerb) addFlag(root *cobra.Command) {
	var show bool
	root.Flags().BoolVar(&show, "version", false, "print the version of banger and bangerd, as banger version does")
	root.Args = unknownSubcommand
	root.DisableFlagsInUseLine = true
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if show {
			return v.print(cmd.Context())
		}
		return cmd.Help()
	}
}
