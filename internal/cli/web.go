package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"banger/internal/errdefs"
	"banger/internal/web/token"
)

func newWebCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Manage the experimental web UI",
		Long:  "Manage bangerd's experimental web UI, which web_listen_addr in config.toml turns on.",
	}
	cmd.AddCommand(newWebTokenCmd(a))
	return cmd
}

// WebTokenOptions are the inputs of `banger web token`.
type WebTokenOptions struct {
	New    bool
	Stdout io.Writer
}

func newWebTokenCmd(a *app) *cobra.Command {
	opts := WebTokenOptions{}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print the access token browsers on other machines need",
		Long: `Print the web UI's access token. With web_allow_remote = true, a browser on
another machine must present it once: open http://ADDRESS/?token=TOKEN, or
paste it on the login page the web UI shows. Its cookie then lasts 30 days.
Browsers on this machine need no token, and guests are never let in.

The token lives in banger's state directory, readable by you only. --new
replaces it: every browser that logged in with the old one must log in again.`,
		Example: `  banger web token
  banger web token --new`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Stdout = a.stdout
			return a.webToken(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.New, "new", false, "replace the token, logging out every browser that used the old one")
	return cmd
}

func (a *app) webToken(opts WebTokenOptions) error {
	if err := a.ready(); err != nil {
		return err
	}
	if cfg, _ := a.config(); !cfg.WebAllowRemote {
		return errdefs.FailedPrecondition("the web UI serves only this machine, which needs no token: " +
			"to let other machines in, set web_listen_addr (e.g. \"0.0.0.0:7777\") and web_allow_remote = true in config.toml, then run `banger daemon stop`")
	}
	get := token.Secret.Ensure
	if opts.New {
		get = token.Secret.New
	}
	tok, err := get(a.dirs.WebToken())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.Stdout, tok)
	return err
}
