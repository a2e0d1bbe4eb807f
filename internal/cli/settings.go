package cli

import (
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"banger/internal/config"
	"banger/internal/paths"
)

// loadConfig reads config.toml once asked: the built-in config, with the
// error, when it is invalid or the directories are unknown.
func loadConfig(dirs paths.Dirs, dirsErr error) func() (*config.Config, error) {
	return sync.OnceValues(func() (*config.Config, error) {
		if dirsErr != nil {
			return config.Default(), nil
		}
		cfg, err := config.Load(dirs.ConfigFile())
		if err != nil {
			return config.Default(), err
		}
		return cfg, nil
	})
}

// resolveVMDefaults works out, once asked, the size a new VM gets:
// [vm_defaults] of the config, else what suits this host.
func resolveVMDefaults(cfg func() (*config.Config, error)) func() config.ResolvedDefaults {
	return sync.OnceValue(func() config.ResolvedDefaults {
		c, _ := cfg()
		return config.ResolveVMDefaults(c.VMDefaults, config.DetectHost())
	})
}

// deferDefaults has fill give cmd's flags the defaults that come from the
// config or this host when cmd runs or prints its help, rather than when
// the command tree is made: the other commands then neither read
// config.toml nor probe the host. fill runs once, and must leave alone a
// flag the command line set (setDefault does).
func deferDefaults(cmd *cobra.Command, fill func()) {
	once := sync.OnceFunc(fill)
	help := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		once()
		help(c, args)
	})
	prev := cmd.PreRun // cobra runs PreRun only when PreRunE is unset
	cmd.PreRun = func(c *cobra.Command, args []string) {
		once()
		if prev != nil {
			prev(c, args)
		}
	}
}

// setDefault gives the flag name of f the default value and, when from is
// set, adds to its usage where that default comes from ("[auto]"). A
// value the command line gave stays.
func setDefault(f *pflag.FlagSet, name, value, from string) {
	fl := f.Lookup(name)
	given := fl.Value.String()
	_ = fl.Value.Set(value)
	fl.DefValue = fl.Value.String() // as --help shows it
	if fl.Changed {
		_ = fl.Value.Set(given)
	}
	if from != "" {
		fl.Usage += " [" + from + "]"
	}
}
