package cli

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/agent/agentproto"
	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/guestssh/sshcmd"
)

// addRunFlags registers vm run's flags that docker run users type: -i,
// -t, -e, -w and -d.
func addRunFlags(cmd *cobra.Command, opts *VMRunOptions) {
	f := cmd.Flags()
	f.BoolVarP(&opts.Interactive, "interactive", "i", false, "keep standard input attached to the command (banger always does; taken for docker run's -i)")
	f.BoolVarP(&opts.TTY, "tty", "t", false, "run the command on a terminal, with yours in raw mode (a shell gets one when your input is a terminal)")
	f.StringArrayVarP(&opts.Env, "env", "e", nil, "set an environment variable, KEY=VALUE (repeatable)")
	f.StringVarP(&opts.Dir, "workdir", "w", "", "working directory in the guest (default /root, or the workspace copy)")
	f.BoolVarP(&opts.Detach, "detach", "d", false, "start the command as a session and return at once (see banger session)")
}

// checkRunFlags refuses flags vm run cannot honour together.
func (opts *VMRunOptions) checkRunFlags() error {
	if opts.Detach && len(opts.Command) == 0 {
		return errdefs.InvalidArgument("-d needs a command to start, as in `banger vm run -d -- python3 -m http.server`; leave -d out for a shell")
	}
	if opts.Detach && opts.Remove {
		return errdefs.InvalidArgument("-d and --rm: the VM would be deleted while its session runs; drop --rm and remove the VM later with `banger vm delete --force NAME`")
	}
	for _, e := range opts.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || !isShellName(k) {
			return errdefs.InvalidArgument("-e %q: want KEY=VALUE, KEY being letters, digits and _, not starting with a digit", e)
		}
	}
	return nil
}

// isShellName reports whether s can name a shell variable.
func isShellName(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// guestCommand is the guest command of vm run: the command, or a login
// shell for none, after -w's cd and -e's exports, inside the workspace
// script when ws is not nil; empty for a plain shell.
func (opts VMRunOptions) guestCommand(ws *api.WorkspaceCopy) []string {
	command := opts.Command
	if prelude := runPrelude(opts.Env, opts.Dir); prelude != "" {
		rest := `exec "${SHELL:-/bin/sh}" -l`
		if len(command) > 0 {
			rest = sshcmd.QuoteCommand(command)
		}
		command = []string{prelude + rest}
	}
	if ws != nil {
		command = workspaceCommand(*ws, command)
	}
	return command
}

// runPrelude is the shell text that goes to dir and exports env; a
// directory that cannot be entered ends the script with 126, as a command
// that cannot be executed.
func runPrelude(env []string, dir string) string {
	var b strings.Builder
	if dir != "" {
		b.WriteString(sshcmd.QuoteCommand([]string{"cd", "--", dir}) + " || exit 126\n")
	}
	for _, e := range env {
		b.WriteString(sshcmd.QuoteCommand([]string{"export", e}) + "\n")
	}
	return b.String()
}

// vmRunDetached starts vm run's command in the new VM as a session and
// returns; the VM keeps running.
func (a *app) vmRunDetached(ctx context.Context, vm api.VM, opts VMRunOptions) error {
	req := api.StartSessionRequest{ExecRequest: api.ExecRequest{
		Command: opts.Command, Env: opts.Env, Dir: opts.Dir, TTY: opts.TTY,
	}}
	if vm.Workspace != nil {
		req.Name = sessionName(opts.Command[0])
		req.Command = agentproto.LoginShellArgv(sshcmd.QuoteCommand(opts.guestCommand(vm.Workspace)))
		req.Env, req.Dir = nil, ""
	}
	if opts.TTY {
		req.Term = os.Getenv("TERM")
	}
	var s api.Session
	err := a.call(ctx, func(c *client.Client) (err error) {
		s, err = c.StartSession(ctx, vm.Name, req)
		return err
	})
	if err != nil {
		return fmt.Errorf("starting the command in VM %s, which keeps running (`banger vm delete --force %s` removes it): %w", vm.Name, vm.Name, err)
	}
	ref := safeLine(s.VM + "/" + s.Name)
	fmt.Fprintf(opts.Stderr, "banger: VM %s runs session %s: `banger session attach %s` attaches, `banger session logs -f %s` shows its output, `banger vm delete --force %s` removes the VM\n", vm.Name, ref, ref, ref, vm.Name)
	_, err = fmt.Fprintln(opts.Stdout, ref)
	return err
}

// sessionName names a workspace session after its command's program, as
// the guest names the others; "" lets the guest pick when that program's
// name is not a session name.
func sessionName(command string) string {
	fields := strings.Fields(command)
	if len(fields) == 0 {
		return ""
	}
	name := path.Base(fields[0])
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && strings.ContainsRune("-_.", c)) {
			return ""
		}
	}
	if len(name) > 63 {
		return ""
	}
	return name
}
