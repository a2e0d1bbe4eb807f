package vm

import (
	"context"
	"fmt"
	"path/filepath"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/vmdisk"
	"banger/internal/workspace"
)

// workspaceTrees checks the workspace a create asks for and lists what
// it copies, before anything is made; the work disk then holds it.
func workspaceTrees(ctx context.Context, ws *api.Workspace, prog progress.Func) ([]vmdisk.Tree, error) {
	if ws == nil {
		return nil, nil
	}
	if !filepath.IsAbs(ws.Path) {
		return nil, errdefs.InvalidArgument("workspace path %q must be absolute", ws.Path)
	}
	const step = "listing the workspace"
	prog.Step(step)
	src, err := workspace.Resolve(ctx, workspace.Options{Path: ws.Path, From: ws.From, Branch: ws.Branch})
	if err != nil {
		return nil, err
	}
	c, err := workspace.Plan(ctx, src)
	if err != nil {
		return nil, err
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
	return []vmdisk.Tree{c}, nil
}
