package cli

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/daemonctl"
	"banger/internal/errdefs"
	"banger/internal/mcp/mcpcmd"
)

// MCPOptions are the inputs of `banger mcp`.
type MCPOptions struct {
	// Listen, when set, is a loopback address to serve streamable HTTP
	// on; else MCP is served on standard input and output.
	Listen string
	// IdleTimeout ends an HTTP session that sends no request for this
	// long, deleting its sandboxes; 0 keeps idle sessions.
	IdleTimeout time.Duration
}

func newMCPCmd(a *app) *cobra.Command {
	opts := MCPOptions{IdleTimeout: mcpcmd.DefaultIdleTimeout}
	cmd := &cobra.Command{
		Use:   "mcp [--listen 127.0.0.1:PORT [--idle-timeout DURATION]]",
		Short: "Serve sandboxes to coding agents over the Model Context Protocol",
		Long:  mcpHelp,
		Example: `  banger mcp                           what an agent launches (stdio)
  banger mcp --listen 127.0.0.1:7778   streamable HTTP at http://127.0.0.1:7778/mcp
  claude mcp add banger -- banger mcp  add it to Claude Code`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.mcpServe(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "serve streamable HTTP on this loopback `ADDRESS` (127.0.0.1:PORT) instead of standard input and output")
	cmd.Flags().DurationVar(&opts.IdleTimeout, "idle-timeout", mcpcmd.DefaultIdleTimeout, "with --listen, end a session that sends no request for this long and delete its sandboxes (0: never)")
	return cmd
}

// mcpHelp is the long help of `banger mcp`.
const mcpHelp = `Serve banger's sandboxes as Model Context Protocol tools, so that a coding
agent (Claude Code, Codex, Cursor, ...) can create a VM, run commands in it,
read and write its files, fork, snapshot and delete it. Add "banger mcp" to
the agent's MCP configuration; see docs/mcp.md for each agent.

By default MCP is spoken on standard input and output, one session, which
ends when the agent closes its end. With --listen, streamable HTTP is served
at http://ADDRESS/mcp on a loopback address only, to this user's processes
only, with the web UI's checks (Host, Origin, the caller's uid); any number
of sessions. A session that sends no request for --idle-timeout (a tool
call in progress counts as one) ends as if its client had ended it.

Sandboxes a session makes carry the label mcp.banger/session=ID and are
deleted when the session ends (or banger mcp stops), unless the agent made
them with keep=true. Tools act only on sandboxes made by banger mcp, never on
your other VMs. New sandboxes take their image, size and network policy from
config.toml, as ` + "`banger vm create`" + ` does. Logs go to standard error.

The server runs as ` + "`bangerd mcp`" + `, which this command becomes: bangerd
holds the MCP code, so that no other banger command pays for loading it.`

// execMCP replaces this process with the server (a variable for tests).
var execMCP = defaultExecMCP

var defaultExecMCP = syscall.Exec

func (a *app) mcpServe(_ context.Context, opts MCPOptions) error {
	if err := mcpcmd.CheckIdleTimeout(opts.IdleTimeout); err != nil {
		return err
	}
	if opts.Listen != "" {
		if err := mcpcmd.CheckListenAddr(opts.Listen); err != nil {
			return err
		}
	}
	bin, err := daemonctl.BinaryPath()
	if err != nil {
		return err
	}
	argv := append([]string{"bangerd"}, mcpcmd.Args(opts.Listen, opts.IdleTimeout)...)
	if err := execMCP(bin, argv, os.Environ()); err != nil {
		return errdefs.FailedPrecondition("running %s %s: %v; reinstall banger (`make install`)", bin, mcpcmd.Command, err)
	}
	return fmt.Errorf("%s returned without running", bin)
}
