package cli

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/workspace"
)

func newVMWorkspaceCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workspace",
		Short: "Bring a VM's workspace back to the host, or the host's changes to it",
		Long: `Move work between a repository on the host and its copy in a VM, made with
` + "`banger vm run PATH`" + ` (in /root/NAME, NAME the repository's directory): export
gives the guest's changes as a patch for the host; sync copies the host's
files into the running VM again.`,
		Example: `  banger vm workspace export box -o box.patch && git am box.patch
  banger vm workspace sync --dry-run box
  banger vm workspace sync box`,
	}
	cmd.AddCommand(newVMWorkspaceExportCmd(a), newVMWorkspaceSyncCmd(a))
	return cmd
}

// workspaceVerbs are the steps of `banger vm workspace`.
type workspaceVerbs struct{ a *app }

// workspaceOf returns name's workspace copy, refusing a VM without one.
func (w workspaceVerbs) workspaceOf(ctx context.Context, name string) (api.VM, *api.WorkspaceCopy, error) {
	a := w.a
	var v api.VM
	err := a.call(ctx, func(c *client.Client) (err error) {
		v, err = c.GetVM(ctx, name)
		return err
	})
	if err != nil {
		return v, nil, err
	}
	ws := v.Workspace
	if ws == nil {
		return v, nil, errdefs.FailedPrecondition("VM %s has no workspace: it was made without a repository (`banger vm run PATH` copies one in)", name)
	}
	if ws.Name == "" || strings.ContainsAny(ws.Name, "/\x00") || ws.Name == "." || ws.Name == ".." {
		return v, nil, fmt.Errorf("VM %s has a workspace named %q, which banger does not make", name, ws.Name)
	}
	return v, ws, nil
}

// guestDir is where a workspace copy is in the guest.
func guestDir(ws *api.WorkspaceCopy) string { return path.Join(workspace.GuestHome, ws.Name) }

// errOutputLimit ends a guest command whose output passed its bound.
var errOutputLimit = errors.New("output limit")

// guestOutput runs argv in the VM's dir through the guest agent and
// returns its standard output, at most limit bytes: a guest may send
// anything. A status other than 0 is an error carrying the (bounded,
// sanitized) standard error, and the status.
func (w workspaceVerbs) guestOutput(ctx context.Context, vm, dir string, argv []string, limit int) ([]byte, int, error) {
	a := w.a
	var p *client.ProcessConn
	err := a.call(ctx, func(c *client.Client) (err error) {
		p, err = c.Exec(ctx, vm, api.ExecRequest{Command: argv, Dir: dir})
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	defer p.Close()
	stop := context.AfterFunc(ctx, func() { p.Close() })
	defer stop()
	p.CloseStdin()
	var stdout, stderr []byte
	for {
		out, err := p.Next()
		switch {
		case ctx.Err() != nil:
			return nil, 0, ctx.Err()
		case err != nil:
			return nil, 0, err
		case out.Exit != nil:
			if out.Exit.Code != 0 {
				return stdout, out.Exit.Code, fmt.Errorf("%s exited with status %d: %s", argv[0], out.Exit.Code, safeText(strings.TrimSpace(string(stderr))))
			}
			return stdout, 0, nil
		case len(stdout)+len(out.Stdout) > limit:
			return nil, 0, errOutputLimit
		case out.Stdout != nil:
			stdout = append(stdout, out.Stdout...)
		case len(stderr) < 4<<10:
			stderr = append(stderr, out.Stderr...)
		}
	}
}
