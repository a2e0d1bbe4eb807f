package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
)

// ListOptions are the inputs every list verb shares.
type ListOptions struct {
	Args   []string
	JSON   bool
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
	empty            string
	header           []string
	row              func(now time.Time, item T) []string
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
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func (l lister[T]) run(ctx context.Context, a *app, opts ListOptions) error {
	var items []T
	err := a.call(ctx, func(c *client.Client) (err error) {
		items, err = l.fetch(ctx, c, opts.Args)
		return err
	})
	if err != nil {
		return err
	}
	if opts.JSON {
		if items == nil {
			items = []T{}
		}
		return writeJSON(opts.Stdout, items)
	}
	if len(items) == 0 {
		_, err := fmt.Fprintln(opts.Stdout, l.empty)
		return err
	}
	t := newTable(opts.Stdout, l.header...)
	now := time.Now()
	for _, item := range items {
		t.row(l.row(now, item)...)
	}
	return t.flush()
}
