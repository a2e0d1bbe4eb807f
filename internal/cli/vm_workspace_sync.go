package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/tarcopy"
	"banger/internal/workspace"
)

// VMWorkspaceSyncOptions are the inputs of `banger vm workspace sync`.
type VMWorkspaceSyncOptions struct {
	Name   string
	DryRun bool
	Stdout io.Writer
	Stderr io.Writer
}

func newVMWorkspaceSyncCmd(a *app) *cobra.Command {
	opts := VMWorkspaceSyncOptions{}
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Copy the host's working tree into a running VM's workspace again",
		Long:  vmWorkspaceSyncHelp,
		Example: `  banger vm workspace sync box
  banger vm workspace sync --dry-run box     list what would be copied`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Stdout, opts.Stderr = args[0], a.stdout, a.stderr
			return workspaceVerbs{a}.vmWorkspaceSync(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list the files that would be copied, and copy nothing")
	return cmd
}

// vmWorkspaceSyncHelp is the long help of `banger vm workspace sync`.
const vmWorkspaceSyncHelp = `Copy the host repository's working tree into a running VM's workspace
again, as it is now: the files git tracks and the untracked ones it does not
ignore, as the copy made with the VM held (even when that copy was of
another commit, with --from). Files go through banger's guest agent, as
` + "`banger vm cp`" + ` sends them, with their modes; symbolic links stay links.

Sync only adds and overwrites:
  - a file on the host replaces the guest's file at the same path, edits
    made there included (export them first: ` + "`banger vm workspace export`" + `);
  - files deleted on the host, and files only the guest has (build outputs,
    new work), stay in the guest;
  - the guest's .git is never written: its commits, branches and index stay,
    so ` + "`git status`" + ` there shows the host's changes against the guest's HEAD.

A file whose name is not UTF-8 is left out, with a note: the copy stream
cannot carry its name.

--dry-run lists the files that would be copied, one a line, and needs no
running VM.`

func (w workspaceVerbs) vmWorkspaceSync(ctx context.Context, opts VMWorkspaceSyncOptions) error {
	a := w.a
	v, ws, err := workspaceVerbs{a}.workspaceOf(ctx, opts.Name)
	if err != nil {
		return err
	}
	if !opts.DryRun && v.State != "running" {
		return errdefs.FailedPrecondition("VM %s is %s: start it with `banger vm start %s`", v.Name, v.State, v.Name)
	}
	plan, err := planSync(ctx, opts.Name, ws)
	if err != nil {
		return err
	}
	for _, n := range plan.Notes() {
		fmt.Fprintf(opts.Stderr, "banger: %s\n", n)
	}
	files := syncable(plan.Files(), opts.Stderr)
	count, bytes := countFiles(files)
	dest := guestDir(ws)
	if opts.DryRun {
		for _, f := range files {
			if !f.Mode.IsDir() {
				fmt.Fprintln(opts.Stdout, quotedPath(f.Rel))
			}
		}
		fmt.Fprintf(opts.Stderr, "would copy %d files (%s) from %s into %s:%s\n", count, progress.Bytes(bytes), ws.Top, opts.Name, dest)
		return nil
	}
	entries := make([]tarcopy.Entry, len(files))
	for i, f := range files {
		entries[i] = tarcopy.Entry{Name: f.Rel, Path: f.Host}
	}
	prog := newCopyProgress(opts.Stderr, func() int64 { return bytes })
	defer prog.finish()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarcopy.WriteList(prog.writer(pw), ws.Top, entries)) }()
	defer pr.Close()
	err = a.call(ctx, func(c *client.Client) error { return c.CopyIn(ctx, opts.Name, dest, pr) })
	if err != nil {
		return fmt.Errorf("syncing the workspace of VM %s: %w", opts.Name, err)
	}
	fmt.Fprintf(opts.Stderr, "copied %d files (%s) from %s into %s:%s\n", count, progress.Bytes(bytes), ws.Top, opts.Name, dest)
	return nil
}

// planSync lists the working tree of the repository ws was copied from.
func planSync(ctx context.Context, vm string, ws *api.WorkspaceCopy) (*workspace.Copy, error) {
	if _, err := os.Stat(ws.Top); err != nil {
		return nil, errdefs.FailedPrecondition("VM %s's workspace was copied from %s, which is gone (%v): nothing to sync", vm, ws.Top, err)
	}
	src, err := workspace.Resolve(ctx, workspace.Options{Path: ws.Top})
	if err != nil {
		return nil, err
	}
	src.Name = ws.Name
	return workspace.Plan(ctx, src)
}

// quotedPath is a path as it is, or Go-quoted when it holds a character
// a terminal would act on.
func quotedPath(p string) string {
	if safeLine(p) == p {
		return p
	}
	return strconv.Quote(p)
}

// syncable leaves out, saying so, the files whose names are not UTF-8,
// which the copy stream does not carry.
func syncable(files []workspace.File, stderr io.Writer) []workspace.File {
	out := files[:0]
	for _, f := range files {
		if !utf8.ValidString(f.Rel) {
			fmt.Fprintf(stderr, "banger: left out %s: its name is not UTF-8, which a copy through the guest agent cannot carry (send it with tar and `banger vm exec`)\n", strconv.Quote(f.Rel))
			continue
		}
		out = append(out, f)
	}
	return out
}

// countFiles is the number of files and links in files, and the files'
// bytes.
func countFiles(files []workspace.File) (n int, bytes int64) {
	for _, f := range files {
		if !f.Mode.IsDir() {
			n++
		}
		if f.Mode.IsRegular() {
			bytes += f.Size
		}
	}
	return n, bytes
}
