package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/version"
)

func newDaemonCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Inspect and control bangerd, the banger daemon",
		Long: `Inspect and control bangerd, the daemon that owns banger's state.

You rarely need these: every banger command starts the daemon when it is not
running, and restarts it when it is of another version than the CLI.`,
	}
	cmd.AddCommand(newDaemonStatusCmd(a), newDaemonStartCmd(a), newDaemonStopCmd(a), newDaemonLogsCmd(a))
	return cmd
}

// DaemonStatusOptions are the inputs of `banger daemon status`.
type DaemonStatusOptions struct {
	JSON   bool
	Stdout io.Writer
}

// daemonStatus is what `daemon status --json` prints.
type daemonStatus struct {
	Running bool            `json:"running"`
	Daemon  *api.DaemonInfo `json:"daemon,omitempty"`
	CLI     string          `json:"cli_version"`
	Socket  string          `json:"socket"`
	LogFile string          `json:"log_file"`
}

func newDaemonStatusCmd(a *app) *cobra.Command {
	opts := DaemonStatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Say whether bangerd runs, and which version",
		Long:  "Report whether bangerd is running, with its version, pid, socket and log file, and, when web_listen_addr or e2b_listen_addr is set, where its web UI or E2B API serves or why it is off. It never starts the daemon.",
		Example: `  banger daemon status
  banger daemon status --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Stdout = a.stdout
			return a.daemonStatus(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func (a *app) daemonStatus(ctx context.Context, opts DaemonStatusOptions) error {
	if a.dirsErr != nil {
		return a.dirsErr
	}
	st := daemonStatus{CLI: version.Version, Socket: a.dirs.Socket(), LogFile: a.dirs.LogFile()}
	a.warned = true // the status shows the daemon's warning itself
	info, err := a.ctl.Info(ctx)
	switch {
	case err == nil:
		st.Running, st.Daemon = true, &info
	case !errors.Is(err, client.ErrNotRunning):
		return err
	}
	if opts.JSON {
		return writeJSON(opts.Stdout, st)
	}
	if !st.Running {
		_, err := fmt.Fprintf(opts.Stdout, "bangerd is not running; it starts on the next banger command.\nsocket: %s\nlog:    %s\n", st.Socket, st.LogFile)
		return err
	}
	t := newTable(opts.Stdout, "bangerd:", "running")
	t.row("version:", info.Version+versionNote(info.Version))
	t.row("pid:", fmt.Sprint(info.PID))
	t.row("uptime:", time.Since(info.StartedAt).Round(time.Second).String())
	t.row("socket:", info.Socket)
	t.row("log:", info.LogFile)
	t.row("state:", info.StateDir)
	if info.ConfigWarning != "" {
		t.row("config:", info.ConfigWarning)
	}
	if w := webState(info); w != "" {
		t.row("web UI:", w)
	}
	if e := e2bState(info); e != "" {
		t.row("E2B API:", e)
	}
	return t.flush()
}

// webState is the web UI's line: where it serves, why it is off, or "" when
// web_listen_addr is not set.
func webState(info api.DaemonInfo) string {
	switch {
	case info.WebError != "":
		return "off: " + info.WebError
	case info.WebAddr != "":
		return "http://" + info.WebAddr + "/"
	}
	return ""
}

// e2bState is the E2B API's line: its URL, why it is off, or "" when
// e2b_listen_addr is not set.
func e2bState(info api.DaemonInfo) string {
	switch {
	case info.E2BError != "":
		return "off: " + info.E2BError
	case info.E2BAddr != "":
		return "http://" + info.E2BAddr + " (`banger e2b env` prints the variables to export)"
	}
	return ""
}

func versionNote(daemon string) string {
	if daemon == version.Version {
		return ""
	}
	return fmt.Sprintf(" (banger is %s; the next command restarts it)", version.Version)
}

func newDaemonStartCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "start",
		Short:   "Start bangerd if it is not running",
		Long:    "Start bangerd in the background if it is not running, or restart it if it is of another version. Its log goes to the file `banger daemon logs` shows.",
		Example: `  banger daemon start`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var info api.DaemonInfo
			err := a.call(ctx, func(c *client.Client) (err error) {
				info, err = c.Daemon(ctx)
				if err == nil && info.Version != version.Version {
					return &client.VersionMismatchError{Client: version.Version, Daemon: info.Version}
				}
				return err
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "bangerd %s is running (pid %d)\n", info.Version, info.PID)
			return err
		},
	}
}

func newDaemonStopCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "stop",
		Short:   "Stop bangerd",
		Long:    "Ask bangerd to shut down and wait until it has exited. Running VMs are not stopped; the next banger command starts the daemon again.",
		Example: `  banger daemon stop`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.dirsErr != nil {
				return a.dirsErr
			}
			if !a.ctl.Running(cmd.Context()) {
				_, err := fmt.Fprintln(a.stdout, "bangerd is not running")
				return err
			}
			if err := a.ctl.Stop(cmd.Context()); err != nil {
				return err
			}
			_, err := fmt.Fprintln(a.stdout, "bangerd stopped")
			return err
		},
	}
}
