package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses. vm run, vm exec and vm ssh pass a guest command's own
// status through, so they follow Docker's run and exec: 125 when banger
// itself failed (exitBangerFailure, in vm_run.go), 126 when the command
// cannot be executed, 127 when it is not found (both reported by the
// guest agent, as a shell reports them), else the command's status. vm
// ssh adds ssh's own 255 when ssh cannot connect. Every other command
// exits 1 on failure (exitFailure).
const exitFailure = 1

// bangerFailed marks err as banger's own failure, exit status 125, for a
// command whose status is otherwise a guest command's.
func bangerFailed(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: exitBangerFailure, Err: err}
}

// guestStatusCmd makes cmd's flag and argument errors exit 125, as its
// other failures do, so that a script can tell them from the guest
// command's status.
func guestStatusCmd(cmd *cobra.Command) *cobra.Command {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return bangerFailed(err) })
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error { return bangerFailed(args(c, a)) }
	}
	return cmd
}

// makeGroups makes every command of the tree that only groups others
// refuse an unknown subcommand (cobra would print the help and exit 0,
// so that a script takes `banger vm ps` for a success). Invoked alone, a
// group still prints its help.
func makeGroups(root *cobra.Command) {
	for _, c := range root.Commands() {
		makeGroups(c)
	}
	if !root.HasSubCommands() || root.Runnable() {
		return
	}
	root.Args = unknownSubcommand
	root.RunE = showHelp
	root.DisableFlagsInUseLine = true
}

// unknownSubcommand refuses any argument of a group, as cobra does for
// the root command: naming the group, with suggestions.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	msg := fmt.Sprintf("unknown command %q for %q; `%s --help` lists its commands", args[0], cmd.CommandPath(), cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return errors.New(msg)
}

func showHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }
