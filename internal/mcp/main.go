package mcp

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/config"
	"banger/internal/daemonctl"
	"banger/internal/errdefs"
	"banger/internal/mcp/mcpcmd"
	"banger/internal/network/netpolicy"
	"banger/internal/paths"
	"banger/internal/version"
)

// Main serves MCP as `banger mcp` asked (args are its flags; see
// package mcpcmd, which launches it as `bangerd mcp`): on stdin
// and stdout, or with --listen on a loopback address. It starts bangerd
// when it is not running, as the CLI does, and logs to stderr.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("banger mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "serve streamable HTTP on this loopback address")
	idle := fs.Duration("idle-timeout", mcpcmd.DefaultIdleTimeout, "with --listen, end a session that sends no request for this long (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := mcpcmd.CheckIdleTimeout(*idle); err != nil {
		return err
	}
	if *listen != "" {
		if err := mcpcmd.CheckListenAddr(*listen); err != nil {
			return err
		}
	}
	dirs, err := paths.Default()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctl := daemonctl.New(dirs)
	ctl.Notify = func(s string) { fmt.Fprintln(stderr, s) }
	ctl.Client.Warn = func(s string) { log.Warn("bangerd: " + s) }
	// Start bangerd now: the first tool call then does not wait for it,
	// and calls made at once find it up.
	if err := ctl.Call(ctx, func(c *client.Client) error { _, err := c.Daemon(ctx); return err }); err != nil {
		log.Warn("mcp: bangerd is not answering; each tool call will try again", "err", err)
	}
	srv := New(Options{Call: ctl.Call, Defaults: configDefaults(dirs), Version: version.Version, IdleTimeout: *idle, Log: log})
	if *listen == "" {
		return srv.ServeStdio(ctx, io.NopCloser(stdin), nopWriteCloser{stdout})
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *listen, err)
	}
	fmt.Fprintf(stderr, "banger: serving MCP at http://%s%s\n", ln.Addr(), Path)
	return srv.ServeHTTP(ctx, ln)
}

// configDefaults gives a create request with the config's defaults, as
// `banger vm create` fills its flags. config.toml is read for each
// sandbox: an edit applies without a restart.
func configDefaults(dirs paths.Dirs) func(context.Context) (api.CreateVMRequest, error) {
	return func(context.Context) (api.CreateVMRequest, error) {
		cfg, err := config.Load(dirs.ConfigFile())
		if err != nil {
			return api.CreateVMRequest{}, errdefs.FailedPrecondition("new sandboxes take their defaults from banger's config, and it is invalid: %v; ask the user to fix config.toml", err)
		}
		d := config.ResolveVMDefaults(cfg.VMDefaults, config.DetectHost())
		policy, err := netpolicy.Parse(cfg.NetworkPolicy)
		if err != nil {
			return api.CreateVMRequest{}, err
		}
		return api.CreateVMRequest{
			Image: cfg.DefaultImageName, VCPU: d.VCPU.V, MemoryMiB: d.MemoryMiB.V,
			DiskBytes: int64(d.DiskSize.V), Network: policy.String(),
		}, nil
	}
}

// nopWriteCloser is w, which the MCP session must not close.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
