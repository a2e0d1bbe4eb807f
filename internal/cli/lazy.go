package cli

import (
	"slices"

	"github.com/spf13/cobra"
)

// A verb is a subcommand made on demand. Its name and aliases must be
// those of the command make returns (TestVerbsAreNamedAsTheirCommands).
type verb struct {
	name    string
	aliases []string
	// make makes the command; rest is the command line after its name,
	// nil when the whole tree is wanted.
	make func(rest []string) *cobra.Command
}

// addVerbs adds verbs to parent. When args, the command line after
// parent's name, names one of them first, only that one is made: each
// command's flags and help cost the start of every other, and only
// parent's help, completion and errors list them all. Anything else
// (help, a flag, a typo to suggest a verb for) makes them all.
func addVerbs(parent *cobra.Command, args []string, verbs []verb) {
	if len(args) > 0 {
		for _, v := range verbs {
			if v.name == args[0] || slices.Contains(v.aliases, args[0]) {
				parent.AddCommand(v.make(args[1:]))
				return
			}
		}
	}
	for _, v := range verbs {
		parent.AddCommand(v.make(nil))
	}
}

// made turns a command's constructor into a verb's make, for a command
// whose own verbs are not made on demand.
func made(fn func(*app) *cobra.Command, a *app) func([]string) *cobra.Command {
	return func([]string) *cobra.Command { return fn(a) }
}
