package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/progress"
)

// VMStatsOptions are the inputs of `banger vm stats`.
type VMStatsOptions struct {
	Names []string // empty for every running VM
	JSON  bool
	// Stream redraws the table every Interval until ctx ends.
	Stream   bool
	Interval time.Duration
	Stdout   io.Writer
	Stderr   io.Writer
}

func newVMStatsCmd(a *app) *cobra.Command {
	opts := VMStatsOptions{Interval: time.Second}
	var noStream bool
	cmd := &cobra.Command{
		Use:   "stats [NAME...]",
		Short: "Show running VMs' CPU, memory and disk use",
		Long: `Show what running VMs cost the host and what their guests use, like docker
stats: the VMM process's CPU (100% is one host core) and resident memory, the
host space the VM's disk files take, and, from the guest agent, the guest's
memory in use, load average, use of / and /root, and uptime. A guest whose
agent cannot say (an image from before vm stats) shows "-" for its figures.

Without a NAME, every running VM is shown. On a terminal the table is
redrawn every second until Ctrl-C, as docker stats does; --no-stream prints
it once. When the output is not a terminal, and with --json, it is printed
once.`,
		Example: `  banger vm stats
  banger vm stats box --no-stream
  banger vm stats --json box | jq '.[0].guest.mem_used_bytes'`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names, opts.Stdout, opts.Stderr = args, a.stdout, a.stderr
			opts.Stream = !noStream && !opts.JSON && isTerminal(a.stdout)
			return a.vmStats(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print the figures once instead of refreshing them")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON (once)")
	return cmd
}

func (a *app) vmStats(ctx context.Context, opts VMStatsOptions) error {
	return a.call(ctx, func(c *client.Client) error {
		stats, err := fetchStats(ctx, c, opts.Names)
		if err != nil && len(stats) == 0 {
			return err
		}
		if !opts.Stream || err != nil {
			return errors.Join(printStats(opts, stats, false), err)
		}
		return streamStats(ctx, c, opts, stats)
	})
}

// fetchStats measures the VMs named, or every running VM. It returns
// the figures it got with the errors of the others; without names, a VM
// that stopped meanwhile is left out.
func fetchStats(ctx context.Context, c *client.Client, names []string) ([]api.VMStats, error) {
	all := len(names) == 0
	if all {
		vms, err := c.ListVMs(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range vms {
			if v.State == "running" {
				names = append(names, v.Name)
			}
		}
	}
	out := []api.VMStats{}
	var errs []error
	for _, name := range names {
		st, err := c.VMStats(ctx, name)
		switch {
		case err == nil:
			out = append(out, st)
		case all && (errors.Is(err, errdefs.ErrFailedPrecondition) || errors.Is(err, errdefs.ErrNotFound)):
		default:
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// streamStats draws stats, then redraws the table every opts.Interval
// until ctx ends (Ctrl-C); a VM that fails meanwhile is reported under
// the table.
func streamStats(ctx context.Context, c *client.Client, opts VMStatsOptions, stats []api.VMStats) error {
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	var err error
	for {
		io.WriteString(opts.Stdout, "\x1b[H\x1b[2J") // home, clear the screen
		if perr := printStats(opts, stats, true); perr != nil {
			return perr
		}
		if err != nil {
			fmt.Fprintln(opts.Stdout, safeText(err.Error()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		stats, err = fetchStats(ctx, c, opts.Names)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// printStats writes the figures as a table or JSON. Why a guest gave no
// figures goes under the table when streaming, else to stderr.
func printStats(opts VMStatsOptions, stats []api.VMStats, streaming bool) error {
	if opts.JSON {
		return writeJSON(opts.Stdout, stats)
	}
	if len(stats) == 0 && len(opts.Names) == 0 {
		_, err := fmt.Fprintln(opts.Stdout, "No running VMs. `banger vm start NAME` boots one.")
		return err
	}
	t := newTable(opts.Stdout, statsHeader...)
	for _, s := range stats {
		t.row(statsRow(s)...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	notes := opts.Stderr
	if streaming {
		notes = opts.Stdout
	}
	for _, s := range stats {
		if s.Guest == nil {
			fmt.Fprintf(notes, "%s: no guest figures: %s\n", safeLine(s.Name), safeLine(s.GuestError))
		}
	}
	return nil
}

var statsHeader = []string{"NAME", "CPU %", "VMM MEM", "GUEST MEM", "MEM %", "LOAD", "ROOT FS", "/root FS", "HOST DISK", "UPTIME"}

// statsRow is one VM's table row; the guest's figures are "-" when it
// gave none.
func statsRow(s api.VMStats) []string {
	row := []string{s.Name, fmt.Sprintf("%.1f%%", s.VMM.CPUPercent), statBytes(s.VMM.RSSBytes)}
	g := s.Guest
	if g == nil {
		return append(row, "-", "-", "-", "-", "-", statBytes(s.VMM.DiskBytes), "-")
	}
	return append(row,
		statBytes(g.MemUsedBytes)+" / "+statBytes(g.MemTotalBytes),
		percent(g.MemUsedBytes, g.MemTotalBytes),
		fmt.Sprintf("%.2f %.2f %.2f", g.Load[0], g.Load[1], g.Load[2]),
		fsUse(g.Filesystems, "/"), fsUse(g.Filesystems, "/root"),
		statBytes(s.VMM.DiskBytes), uptime(g.UptimeSeconds))
}

// fsUse is the use of the guest filesystem at path, or "-".
func fsUse(fss []api.FSStats, path string) string {
	for _, fs := range fss {
		if fs.Path == path {
			return statBytes(fs.UsedBytes) + " / " + statBytes(fs.TotalBytes)
		}
	}
	return "-"
}

func statBytes(n uint64) string { return progress.Bytes(int64(min(n, math.MaxInt64))) }

func percent(part, whole uint64) string {
	if whole == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", float64(part)/float64(whole)*100)
}

// uptime renders seconds as the two largest units: 45s, 3m20s, 2h5m, 4d3h.
func uptime(secs float64) string {
	if secs <= 0 || math.IsNaN(secs) || secs > 1e9 {
		return "-"
	}
	d := time.Duration(secs) * time.Second
	days, h, m, s := int(d.Hours())/24, int(d.Hours())%24, int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}
