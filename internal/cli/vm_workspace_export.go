package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/atomicfile"
	"banger/internal/errdefs"
	"banger/internal/workspace"
)

// maxPatch bounds an export: the guest decides what it sends. (A
// variable for tests.)
var maxPatch = 256 << 20

// VMWorkspaceExportOptions are the inputs of `banger vm workspace export`.
type VMWorkspaceExportOptions struct {
	Name   string
	Output string // a file; "" for Stdout
	Stdout io.Writer
	Stderr io.Writer
}

func newVMWorkspaceExportCmd(a *app) *cobra.Command {
	opts := VMWorkspaceExportOptions{}
	cmd := &cobra.Command{
		Use:   "export NAME [-o FILE]",
		Short: "Write the changes made in a VM's workspace as a patch",
		Long:  vmWorkspaceExportHelp,
		Example: `  banger vm workspace export box -o box.patch
  git am box.patch                   the guest's commits, then its uncommitted changes as one more
  git apply box.patch                or all of it, uncommitted
  banger vm workspace export box | git am`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Stdout, opts.Stderr = args[0], a.stdout, a.stderr
			return workspaceVerbs{a}.vmWorkspaceExport(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write the patch to `FILE` instead of standard output")
	return cmd
}

// vmWorkspaceExportHelp is the long help of `banger vm workspace export`.
const vmWorkspaceExportHelp = `Write what changed in a running VM's workspace since it was copied in, as
one mailbox of patches for the host's repository:

  - each commit made in the guest since the copy (git log ` + workspace.BaseRef + `..HEAD
    there), as git format-patch writes it;
  - then, if there are uncommitted changes (edits, deletions, untracked files
    git does not ignore), one more message, "Uncommitted changes in VM NAME",
    that carries them.

On the host, in a checkout of the commit the copy was made at, ` + "`git am FILE`" + `
applies it as commits (the last one holds the uncommitted changes: undo just
that one with ` + "`git reset HEAD^`" + `), and ` + "`git apply FILE`" + ` applies all of it to the
working tree, uncommitted. What was uncommitted on the host when the copy was
made is part of the patch too, as the guest sees it as a change.

The guest's repository is left as it was: no commit, stash or change to its
index is made. Changes inside submodules are not exported. Git runs in the
guest through banger's guest agent, so the VM must run and its image have
git. The patch is written as the guest gave it, at most 256 MiB; to a file
with -o (replaced whole, or not at all), else to standard output, which must
not be a terminal.`

// isCommitID reports whether s is a commit id (SHA-1 or SHA-256, in lower
// case hex), as the guest is trusted with nothing.
func isCommitID(s string) bool {
	return (len(s) == 40 || len(s) == 64) && strings.Trim(s, "0123456789abcdef") == ""
}

func (w workspaceVerbs) vmWorkspaceExport(ctx context.Context, opts VMWorkspaceExportOptions) error {
	a := w.a
	if opts.Output == "" && isTerminal(opts.Stdout) {
		return errdefs.InvalidArgument("refusing to write a patch to the terminal: give -o FILE, or redirect standard output (`> box.patch`)")
	}
	_, ws, err := workspaceVerbs{a}.workspaceOf(ctx, opts.Name)
	if err != nil {
		return err
	}
	part := func(name string, limit int) ([]byte, error) {
		out, code, err := workspaceVerbs{a}.guestOutput(ctx, opts.Name, guestDir(ws), workspace.ExportCommand(name), limit)
		return out, exportError(opts.Name, ws.Name, code, err)
	}
	base, err := part("base", 200)
	if err != nil {
		return err
	}
	commits, err := part("commits", maxPatch)
	if err != nil {
		return err
	}
	diff, err := part("diff", maxPatch-len(commits))
	if err != nil {
		return err
	}
	patch := workspace.Patch(commits, diff, opts.Name, workspace.HostAuthor(ctx, ws.Top), time.Now())
	return writePatch(opts, patch, strings.TrimSpace(string(base)))
}

// exportError says what a failed part of an export means.
func exportError(vm, name string, code int, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errOutputLimit):
		return errdefs.FailedPrecondition("the changes in VM %s's workspace make a patch of more than %d MiB: leave build outputs and large files out of git (list them in .gitignore) and copy them with `banger vm cp`", vm, maxPatch>>20)
	case code == workspace.ExportStatusNoGit:
		return errdefs.FailedPrecondition("exporting the workspace of VM %s: git is not installed in the guest: install it there (`banger vm exec %s -- apt-get install -y git`)", vm, vm)
	case code == workspace.ExportStatusNoBase:
		return errdefs.FailedPrecondition("exporting the workspace of VM %s: /root/%s has no %s, which marks the commit it was copied at (VMs made before banger marked it lack it): make a patch there with `git format-patch`", vm, name, workspace.BaseRef)
	case code == 1 || code == 2:
		return fmt.Errorf("exporting the workspace of VM %s (is /root/%s still a git repository?): %w", vm, name, err)
	}
	return fmt.Errorf("exporting the workspace of VM %s: %w", vm, err)
}

// writePatch writes the patch where opts say and tells the user what it
// holds.
func writePatch(opts VMWorkspaceExportOptions, patch []byte, base string) error {
	if !isCommitID(base) {
		base = "?"
	}
	if len(patch) == 0 {
		fmt.Fprintf(opts.Stderr, "no changes in VM %s's workspace since it was copied at %.12s; nothing written\n", opts.Name, base)
		return nil
	}
	if opts.Output == "" {
		_, err := opts.Stdout.Write(patch)
		return err
	}
	if err := atomicfile.WriteFile(opts.Output, patch, 0o644); err != nil {
		return fmt.Errorf("writing the patch: %w", err)
	}
	fmt.Fprintf(opts.Stderr, "wrote %s: the changes since %.12s; apply it there with `git am %s` (or `git apply`)\n", opts.Output, base, opts.Output)
	return nil
}
