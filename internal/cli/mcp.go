package cli

import (
	"context"
	"fmt"
	"os"
	"syscall"

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
}

func newMCPCmd(a *app) *cobra.Command {
	opts := MCPOptions{}
	cmd := &cobra.Command{
		Use:   "mcp [--listen 127.0.0.1:PORT]",
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
of sessions.

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
	if opts.Listen != "" {
		if err := mcpcmd.CheckListenAddr(opts.Listen); err != nil {
			return err
		}
	}
	bin, err := daemonctl.BinaryPath()
	if err != nil {
		return err
	}
	argv := append([]string{"bangerd"}, mcpcmd.Args(opts.Listen)...)
	if err := execMCP(bin, argv, os.Environ()); err != nil {
		return errdefs.FailedPrecondition("running %s %s: %v; reinstall banger (`make install`)", bin, mcpcmd.Command, err)
	}
	return fmt.Errorf("%s returned without running", bin)
}
