package cli

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

func newSessionCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "session",
		Short: "Manage long-lived processes inside VMs",
		Long: `Manage sessions: named, long-lived processes that run inside a VM and
outlive the client that started them, and bangerd too. The VM's guest agent
holds them (no sshd needed); they end with the VM.

  banger session start box --name web -- python3 -m http.server
  banger session list
  banger session logs -f box/web
  banger session start box --name sh -t -- bash
  banger session attach box/sh          (Ctrl-] detaches)
  banger session kill box/web

A session is named VM/SESSION. Its output is kept in the guest: the latest
1 MiB in memory for ` + "`session logs`" + `, and all of it (up to 16 MiB, then
rotated once) in /root/.cache/banger/sessions/SESSION.log.`,
	}
	cmd.AddCommand(lister[api.Session]{
		use:   "list [VM]",
		short: "List sessions",
		long:  "List the sessions of every running VM, or of one VM when its name is given.",
		example: `  banger session list
  banger session list box --json`,
		args:     cobra.MaximumNArgs(1),
		complete: a.complete.vms,
		fetch: func(ctx context.Context, c *client.Client, args []string) ([]api.Session, error) {
			vm := ""
			if len(args) == 1 {
				vm = args[0]
			}
			return c.ListSessions(ctx, vm)
		},
		name:   func(s api.Session) string { return s.VM + "/" + s.Name },
		empty:  "No sessions.",
		header: []string{"VM", "NAME", "STATE", "STARTED", "COMMAND"},
		row: func(now time.Time, s api.Session) []string {
			return []string{s.VM, s.Name, sessionState(s), ago(now, s.Started), s.Command}
		},
	}.command(a), newSessionStartCmd(a), newSessionAttachCmd(a), newSessionLogsCmd(a), newSessionKillCmd(a))
	return cmd
}

// sessionState is a session's state for people: running, or how it ended.
func sessionState(s api.Session) string {
	if s.State != api.SessionExited || s.Exit == nil {
		return s.State
	}
	if s.Exit.Signal != "" {
		return "killed (" + s.Exit.Signal + ")"
	}
	return "exited (" + strconv.Itoa(s.Exit.Code) + ")"
}

// parseSessionRef splits VM/SESSION.
func parseSessionRef(ref string) (vm, session string, err error) {
	vm, session, ok := strings.Cut(ref, "/")
	if !ok || vm == "" || session == "" || strings.Contains(session, "/") {
		return "", "", errdefs.InvalidArgument("%q is not a session: name it VM/SESSION, as in box/web (see `banger session list`)", ref)
	}
	return vm, session, nil
}

// completeSessionRefs completes the first argument with VM/SESSION names.
func (a *app) completeSessionRefs(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.complete.names(func(ctx context.Context, c *client.Client) ([]string, error) {
		sessions, err := c.ListSessions(ctx, "")
		return namesOf(sessions, func(i int) string { return sessions[i].VM + "/" + sessions[i].Name }), err
	}, toComplete)
}
