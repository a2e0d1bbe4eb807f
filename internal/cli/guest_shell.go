package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"banger/internal/agent/agentproto"
	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/guestssh/sshcmd"
)

// guest reaches a VM's guest for the commands that run things in it.
type guest struct{ a *app }

// shell opens a shell in VM name, or runs command there, and returns
// its status, on a terminal when tty: over ssh when the guest has sshd, else through the guest
// agent, as `vm exec` does (images without sshd, most OCI images).
func (g guest) shell(ctx context.Context, name string, tty bool, command []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	a := g.a
	var target api.SSHTarget
	err := a.call(ctx, func(c *client.Client) (err error) {
		target, err = c.VMSSH(ctx, name)
		return err
	})
	if err == nil {
		return execSSH(target, tty, command, stdin, stdout, stderr)
	}
	if !errors.Is(err, errdefs.ErrFailedPrecondition) {
		return 0, err
	}
	// No sshd, but an agent that runs commands: go through it.
	if gi, ok := g.info(ctx, name); !ok || gi.SSH || !gi.Exec {
		return 0, err
	}
	fmt.Fprintf(stderr, "banger: %s has no sshd; connecting through its guest agent\n", name)
	if len(command) > 0 {
		// ssh would hand the command to root's shell: so does this.
		command = agentproto.LoginShellArgv(sshcmd.QuoteCommand(command))
	}
	return g.exec(ctx, VMExecOptions{
		Name: name, Command: command, TTY: tty,
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
	})
}

// info is what VM name's guest agent reports; false when it cannot
// be asked.
func (g guest) info(ctx context.Context, name string) (api.GuestInfo, bool) {
	var gi api.GuestInfo
	err := g.a.call(ctx, func(c *client.Client) (err error) {
		gi, err = c.GuestInfo(ctx, name)
		return err
	})
	return gi, err == nil
}
