package vm

import (
	"context"
	"fmt"
	"path/filepath"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmdisk"
	"banger/internal/workspace"
)

// workspaceTrees resolves the workspace a create asks for and lists what
// it copies, before anything is made; the work disk then holds it, and
// the VM's record the workspace as resolved. This is the one place a
// workspace is resolved: the CLI takes the result from the VM.
func workspaceTrees(ctx context.Context, ws *api.Workspace, prog progress.Func) ([]vmdisk.Tree, store.Workspace, error) {
	if ws == nil {
		return nil, store.Workspace{}, nil
	}
	trees, src, err := planWorkspace(ctx, ws, prog)
	if err != nil {
		return nil, store.Workspace{}, err
	}
	return trees, store.Workspace{Top: src.Top, Name: src.Name, Sub: src.Sub, From: src.From, Commit: src.Commit, Branch: src.Branch}, nil
}

// planWorkspace resolves ws and plans its copy, saying what it copies.
func planWorkspace(ctx context.Context, ws *api.Workspace, prog progress.Func) ([]vmdisk.Tree, workspace.Source, error) {
	if !filepath.IsAbs(ws.Path) {
		return nil, workspace.Source{}, errdefs.InvalidArgument("workspace path %q must be absolute", ws.Path)
	}
	const step = "listing the workspace"
	prog.Step(step)
	src, err := workspace.Resolve(ctx, workspace.Options{Path: ws.Path, From: ws.From, Branch: ws.Branch})
	if err != nil {
		return nil, src, err
	}
	c, err := workspace.Plan(ctx, src)
	if err != nil {
		return nil, src, err
	}
	for _, n := range c.Notes() {
		prog.Note(step, n)
	}
	files, bytes, history := c.Count()
	what := "the working tree"
	if src.From != "" {
		what = src.From
	}
	prog.Note(step, fmt.Sprintf("%s of %s to %s: %d files (%.1f MB), history %.1f MB", what, src.Top, src.GuestDir(), files, float64(bytes)/1e6, float64(history)/1e6))
	return []vmdisk.Tree{c}, src, nil
}
