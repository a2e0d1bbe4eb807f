package cli

import (
	"io"

	"github.com/spf13/cobra"
)

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect banger's configuration",
		Long:  "Inspect banger's configuration file, config.toml in banger's XDG config directory. Every key is optional.",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration",
		Long: `Print the effective configuration as TOML: the values from your config file,
with banger's defaults filled in for every key you did not set. The output is
itself a valid config file. A config file with errors is reported with the
file, line and key of each problem.`,
		Example: `  banger config show`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.configShow(a.stdout)
		},
	})
	return cmd
}

func (a *app) configShow(w io.Writer) error {
	if err := a.ready(); err != nil {
		return err
	}
	cfg, _ := a.config()
	return cfg.Encode(w)
}
