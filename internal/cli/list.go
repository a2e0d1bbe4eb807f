package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
)

// ListOptions are the inputs every list verb shares. JSON, Quiet and
// Format each pick the output; at most one may be set.
type ListOptions struct {
	Args   []string
	JSON   bool
	Quiet  bool   // names only, one per line
	Format string // a Go template for each item
	Stdout io.Writer
}

// lister describes one resource's list verb: how to fetch the items and how
// to show them as a table row.
type lister[T any] struct {
	use, short, long string
	example          string
	args             cobra.PositionalArgs
	complete         cobra.CompletionFunc
	fetch            func(ctx context.Context, c *client.Client, args []string) ([]T, error)
	name             func(item T) string // what --quiet prints
	empty            string
	// emptyNow, when set, says what empty says, as the flags given ask.
	emptyNow func() string
	header   []string
	row      func(now time.Time, item T) []string
}

func (l lister[T]) command(a *app) *cobra.Command {
	opts := ListOptions{}
	args := l.args
	if args == nil {
		args = cobra.NoArgs
	}
	cmd := &cobra.Command{
		Use:               l.use,
		Aliases:           []string{"ls"},
		Short:             l.short,
		Long:              l.long,
		Example:           l.example,
		Args:              args,
		ValidArgsFunction: l.complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args, opts.Stdout = args, a.stdout
			return l.run(cmd.Context(), a, opts)
		},
	}
	addListFlags(cmd, &opts)
	return cmd
}

func (l lister[T]) run(ctx context.Context, a *app, opts ListOptions) error {
	format, err := opts.template()
	if err != nil {
		return err
	}
	var items []T
	err = a.call(ctx, func(c *client.Client) (err error) {
		items, err = l.fetch(ctx, c, opts.Args)
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case opts.JSON:
		if items == nil {
			items = []T{}
		}
		return writeJSON(opts.Stdout, items)
	case opts.Quiet:
		for _, item := range items {
			fmt.Fprintln(opts.Stdout, safeLine(l.name(item)))
		}
		return nil
	case format != nil:
		return writeTemplate(opts.Stdout, format, items)
	}
	if len(items) == 0 {
		msg := l.empty
		if l.emptyNow != nil {
			msg = l.emptyNow()
		}
		_, err := fmt.Fprintln(opts.Stdout, msg)
		return err
	}
	t := newTable(opts.Stdout, l.header...)
	now := time.Now()
	for _, item := range items {
		t.row(l.row(now, item)...)
	}
	return t.flush()
}
