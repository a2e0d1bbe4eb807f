package mcp

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"banger/internal/api"
	"banger/internal/atomicfile"
	"banger/internal/errdefs"
	"banger/internal/workspace"
)

const exportHelp = `Bring back what changed in a sandbox's workspace (made by sandbox_create
with workspace) since it was copied in, as one mailbox of patches for the
host's repository: each commit made in the sandbox, then one more message
with the uncommitted changes. With output (an absolute host path) the patch
is written there, for ` + "`git am FILE`" + ` (commits) or ` + "`git apply FILE`" + `
(all of it, uncommitted) in the repository on the host; without, it is
returned, up to 1 MiB. The sandbox's repository is left as it is. Needs git
in the sandbox.`

// Bounds of an export's patch.
const (
	maxInlinePatch = 1 << 20
	maxFilePatch   = 64 << 20
	exportTimeout  = 5 * time.Minute
)

// exportIn are sandbox_export_changes' arguments.
type exportIn struct {
	Sandbox string `json:"sandbox" jsonschema:"the sandbox's name"`
	Output  string `json:"output,omitempty" jsonschema:"absolute host path to write the patch to, replaced whole"`
}

// exportOut is the patch, or where it went.
type exportOut struct {
	Base   string `json:"base" jsonschema:"the commit the workspace was copied at"`
	Patch  string `json:"patch,omitempty"`
	Output string `json:"output,omitempty" jsonschema:"the file written"`
	Bytes  int    `json:"bytes"`
	Note   string `json:"note,omitempty"`
}

func (s *Server) exportChanges(ctx context.Context, call *toolCall, in exportIn) (exportOut, error) {
	limit := maxInlinePatch
	if in.Output != "" {
		if !filepath.IsAbs(in.Output) {
			return exportOut{}, errdefs.InvalidArgument("output %q is relative, and this server's directory is not yours: give an absolute host path", in.Output)
		}
		limit = maxFilePatch
	}
	sb, err := s.sandboxOf(ctx, call.st, in.Sandbox)
	if err != nil {
		return exportOut{}, err
	}
	ws := sb.vm.Workspace
	if ws == nil {
		return exportOut{}, errdefs.FailedPrecondition("sandbox %s has no workspace: only a sandbox made by sandbox_create with workspace has changes to export", sb.vm.Name)
	}
	var parts [3][]byte
	for i, name := range []string{"base", "commits", "diff"} {
		if parts[i], err = s.exportPart(ctx, sb, name, limit); err != nil {
			return exportOut{}, err
		}
	}
	base := strings.TrimSpace(string(parts[0]))
	patch := workspace.Patch(parts[1], parts[2], sb.vm.Name, workspace.HostAuthor(ctx, ws.Top), time.Now())
	out := exportOut{Base: base, Bytes: len(patch)}
	switch {
	case len(patch) == 0:
		out.Note = "no changes since the workspace was copied in"
	case len(patch) > limit:
		return exportOut{}, errdefs.FailedPrecondition("the patch is %d bytes, more than %d: give output, a host path to write it to", len(patch), limit)
	case in.Output != "":
		if err := atomicfile.WriteFile(in.Output, patch, 0o644); err != nil {
			return exportOut{}, fmt.Errorf("writing the patch: %w", err)
		}
		out.Output = in.Output
		out.Note = fmt.Sprintf("apply it in the repository on the host with `git am %s` (or `git apply`)", in.Output)
	default:
		out.Patch = toText(string(patch))
	}
	return out, nil
}

// exportPart runs one part of an export in the sandbox's workspace.
func (s *Server) exportPart(ctx context.Context, sb sandbox, part string, limit int) ([]byte, error) {
	req := api.ExecRequest{Command: workspace.ExportCommand(part), Dir: sb.workdir}
	res, err := s.execute(ctx, sb.vm.Name, req, execLimits{timeout: exportTimeout, output: limit}, nil)
	switch {
	case err != nil:
		return nil, fmt.Errorf("exporting the workspace of sandbox %s: %w", sb.vm.Name, err)
	case res.Stdout.cut() > 0:
		return nil, errdefs.FailedPrecondition("the changes in sandbox %s make a patch of more than %d bytes: give output, or leave build outputs out of git (.gitignore)", sb.vm.Name, limit)
	case res.Code == workspace.ExportStatusNoGit:
		return nil, errdefs.FailedPrecondition("git is not installed in sandbox %s: install it there with sandbox_run (apt-get install -y git)", sb.vm.Name)
	case res.Code == workspace.ExportStatusNoBase:
		return nil, errdefs.FailedPrecondition("%s in sandbox %s has no %s, which marks the commit it was copied at: make a patch there with git format-patch", sb.workdir, sb.vm.Name, workspace.BaseRef)
	case res.Code != 0:
		return nil, fmt.Errorf("exporting the workspace of sandbox %s (is %s still a git repository?): status %d: %s", sb.vm.Name, sb.workdir, res.Code, strings.TrimSpace(res.Stderr.String()))
	}
	return append(res.Stdout.head, res.Stdout.tail...), nil
}
