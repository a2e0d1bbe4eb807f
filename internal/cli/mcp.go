package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/mcp"
	"banger/internal/network/netpolicy"
	"banger/internal/version"
)

// MCPOptions are the inputs of `banger mcp`.
type MCPOptions struct {
	// Listen, when set, is a loopback address to serve streamable HTTP
	// on; else MCP is served on standard input and output.
	Listen string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
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
			opts.Stdin, opts.Stdout, opts.Stderr = a.stdin, a.stdout, a.stderr
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
config.toml, as ` + "`banger vm create`" + ` does. Logs go to standard error.`

func (a *app) mcpServe(ctx context.Context, opts MCPOptions) error {
	if opts.Listen != "" {
		if err := mcp.CheckListenAddr(opts.Listen); err != nil {
			return err
		}
	}
	if a.dirsErr != nil {
		return a.dirsErr
	}
	log := slog.New(slog.NewTextHandler(opts.Stderr, nil))
	// Start bangerd now, so that the first tool call does not wait for it
	// (and the calls that run at once find it up).
	if err := a.call(ctx, func(c *client.Client) error { _, err := c.Daemon(ctx); return err }); err != nil {
		log.Warn("mcp: bangerd is not answering; each tool call will try again", "err", err)
	}
	srv := mcp.New(mcp.Options{Call: a.call, Defaults: a.mcpDefaults, Version: version.Version, Log: log})
	if opts.Listen == "" {
		return srv.ServeStdio(ctx, io.NopCloser(opts.Stdin), nopWriteCloser{opts.Stdout})
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", opts.Listen, err)
	}
	fmt.Fprintf(opts.Stderr, "banger: serving MCP at http://%s%s\n", ln.Addr(), mcp.Path)
	return srv.ServeHTTP(ctx, ln)
}

// mcpDefaults is a create request with the config's defaults, as vm
// create fills its flags.
func (a *app) mcpDefaults(context.Context) (api.CreateVMRequest, error) {
	cfg, err := a.config()
	if err != nil {
		return api.CreateVMRequest{}, errdefs.FailedPrecondition("new sandboxes take their defaults from banger's config, and it is invalid: %v; ask the user to fix config.toml", err)
	}
	d := a.vmDefaults()
	policy, err := netpolicy.Parse(cfg.NetworkPolicy)
	if err != nil {
		return api.CreateVMRequest{}, err
	}
	return api.CreateVMRequest{
		Image: cfg.DefaultImageName, VCPU: d.VCPU.V, MemoryMiB: d.MemoryMiB.V,
		DiskBytes: int64(d.DiskSize.V), Network: policy.String(),
	}, nil
}

// nopWriteCloser is w, which the MCP session must not close.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
