package cli

import (
	"fmt"
	"path/filepath"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/guestssh/sshcmd"
	"banger/internal/workspace"
)

// workspaceHelp is vm run's help on workspace mode.
const workspaceHelp = `Workspace mode (a PATH in a git work tree) copies the repository into the VM
before it boots, at /root/NAME (NAME being the repository's directory name):
the files git tracks plus the untracked ones it does not ignore, as they are
in the working tree (uncommitted edits included; deleted files left out),
with their modes; symlinks stay symlinks, never followed; initialised
submodules come too. The copy is a real repository, with the history, the
branches, the remotes and what is staged, so ` + "`git log`" + ` works and work can
be pushed or pulled back. The shell or command starts in the directory
matching PATH. A PATH outside any git repository is refused: run ` + "`git init`" + `
there first, or leave PATH out for a bare sandbox.

  --from REF     copy commit, tag or branch REF instead of the working tree
  --branch NAME  put the copy on a new branch NAME

When the repository has .mise.toml, mise.toml or .tool-versions, banger trusts
that configuration and mise installs its tools in the guest, logging to
/root/.cache/banger/vm-run-tooling-NAME.log.
A failure there never fails the run. A command waits for it; a shell opens at
once while it runs in the background.`

// workspaceRequest is what the daemon needs to copy the workspace, which
// it resolves; nil for a bare sandbox.
func workspaceRequest(opts VMRunOptions) (*api.Workspace, error) {
	if opts.Path == "" {
		if opts.From != "" || opts.Branch != "" {
			return nil, errdefs.InvalidArgument("--from and --branch apply only to workspace mode: give the repository's path, as in `banger vm run --from main ./repo`")
		}
		return nil, nil
	}
	abs, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", opts.Path, err)
	}
	return &api.Workspace{Path: abs, From: opts.From, Branch: opts.Branch}, nil
}

// workspaceCommand is the guest command of a workspace session: the
// script that goes to the copy ws (as the daemon resolved it), bootstraps
// its tools and runs command, or opens a shell when command is empty.
func workspaceCommand(ws api.WorkspaceCopy, command []string) []string {
	src := workspace.Source{Top: ws.Top, Name: ws.Name, Sub: ws.Sub, From: ws.From, Commit: ws.Commit, Branch: ws.Branch}
	snippet := ""
	if len(command) > 0 {
		snippet = sshcmd.QuoteCommand(command)
	}
	return []string{workspace.GuestScript(src, snippet)}
}
