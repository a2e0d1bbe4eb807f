package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/e2b/apikey"
	"banger/internal/errdefs"
)

func newE2BCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "e2b",
		Short: "Use banger through the E2B SDKs",
		Long: `bangerd can serve E2B's API, so that code written for the E2B SDKs runs its
sandboxes as banger VMs, unchanged. Turn it on with e2b_listen_addr in
config.toml (for example e2b_listen_addr = "127.0.0.1:3333"), run
` + "`banger daemon stop`" + ` so the next command starts bangerd with it, then
export the three variables ` + "`banger e2b env`" + ` prints.

Sandboxes are VMs named e2b-..., labelled e2b=sandbox: ` + "`banger vm list`" + ` shows
them, and vm exec, vm ssh and vm logs work on them. See docs/e2b.md for what
is supported.`,
	}
	cmd.AddCommand(e2bVerbs{a}.envCmd())
	return cmd
}

// e2bVerbs are the verbs of `banger e2b`.
type e2bVerbs struct{ a *app }

// E2BEnvOptions are the inputs of `banger e2b env`.
type E2BEnvOptions struct {
	NewKey bool
	Stdout io.Writer
}

func (e e2bVerbs) envCmd() *cobra.Command {
	opts := E2BEnvOptions{}
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the export lines that point the E2B SDKs at bangerd",
		Long: `Print E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY as shell export lines, for
the address e2b_listen_addr sets in config.toml. The API key lives in
banger's config directory, readable by you only; it is made on first use.
--new-key replaces it: clients holding the old key are refused at once.`,
		Example: `  eval "$(banger e2b env)"
  banger e2b env --new-key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Stdout = e.a.stdout
			return e.env(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.NewKey, "new-key", false, "replace the API key, refusing clients that hold the old one")
	return cmd
}

// env prints the export lines, making the API key on first use.
func (e e2bVerbs) env(ctx context.Context, opts E2BEnvOptions) error {
	if err := e.a.ready(); err != nil {
		return err
	}
	cfg, _ := e.a.config()
	if cfg.E2BListenAddr == "" {
		return errdefs.FailedPrecondition("the E2B API is off: set e2b_listen_addr = \"127.0.0.1:3333\" in config.toml, " +
			"then run `banger daemon stop` so that the next command starts bangerd with it")
	}
	get := apikey.Secret.Ensure
	if opts.NewKey {
		get = apikey.Secret.New
	}
	key, err := get(e.a.dirs.E2BKey())
	if err != nil {
		return err
	}
	addr, err := e.serving(ctx, cfg.E2BListenAddr)
	if err != nil {
		return err
	}
	url := "http://" + clientAddr(addr)
	_, err = fmt.Fprintf(opts.Stdout, "export E2B_API_URL=%s\nexport E2B_SANDBOX_URL=%s\nexport E2B_API_KEY=%s\n", url, url, key)
	return err
}

// clientAddr is the address a client on this machine dials for a listen
// address: loopback in place of "every interface".
func clientAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		if err == nil && ip.Is6() {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, port)
}

// serving starts bangerd if it is not running, as any command does, and
// returns where it serves the E2B API: the variables are of no use until
// it does. A daemon started before the config's address (listen) changed
// serves the old one, which is what works until it restarts.
func (e e2bVerbs) serving(ctx context.Context, listen string) (string, error) {
	var info api.DaemonInfo
	err := e.a.call(ctx, func(c *client.Client) (err error) {
		info, err = c.Daemon(ctx)
		return err
	})
	switch {
	case err != nil:
		return "", err
	case info.E2BError != "":
		return "", errdefs.FailedPrecondition("bangerd does not serve the E2B API: %s", info.E2BError)
	case info.E2BAddr == "":
		return "", errdefs.FailedPrecondition("bangerd started before e2b_listen_addr was set, so it serves no E2B API: run `banger daemon stop`, then `banger e2b env` again")
	case info.E2BAddr != listen:
		e.a.warn(fmt.Sprintf("bangerd serves the E2B API at %s, not at e2b_listen_addr %s: run `banger daemon stop` to start it with config.toml's", info.E2BAddr, listen))
	}
	return info.E2BAddr, nil
}
