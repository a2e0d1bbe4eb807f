package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// DaemonLogsOptions are the inputs of `banger daemon logs`.
type DaemonLogsOptions struct {
	Lines  int
	Follow bool
	Stdout io.Writer
}

func newDaemonLogsCmd(a *app) *cobra.Command {
	opts := DaemonLogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Print bangerd's log",
		Long:  "Print the end of bangerd's log file; with -f, keep printing as it grows until interrupted.",
		Example: `  banger daemon logs
  banger daemon logs -n 0          the whole log
  banger daemon logs -f           follow it`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.dirsErr != nil {
				return a.dirsErr
			}
			opts.Stdout = a.stdout
			return daemonLogs(cmd.Context(), a.dirs.LogFile(), opts)
		},
	}
	cmd.Flags().IntVarP(&opts.Lines, "lines", "n", 50, "how many lines from the end to print (0 for all)")
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new lines")
	return cmd
}

func daemonLogs(ctx context.Context, path string, opts DaemonLogsOptions) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no daemon log at %s yet: bangerd writes it once a banger command has started it", path)
	}
	if err != nil {
		return fmt.Errorf("opening daemon log: %w", err)
	}
	defer f.Close()
	if err := printTail(f, opts.Stdout, opts.Lines); err != nil {
		return err
	}
	if !opts.Follow {
		return nil
	}
	return follow(ctx, f, opts.Stdout)
}

// printTail prints the last n lines of r (all of it when n <= 0), leaving r
// at its end.
func printTail(r io.Reader, w io.Writer, n int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var ring []string
	for sc.Scan() {
		ring = append(ring, sc.Text())
		if n > 0 && len(ring) > n {
			ring = ring[1:]
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading daemon log: %w", err)
	}
	for _, line := range ring {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// follow copies what is appended to f until ctx ends, checking a few times a
// second, as tail -f does.
func follow(ctx context.Context, f *os.File, w io.Writer) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("following daemon log: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
