package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/progress"
)

// pullCmd builds `image pull` and `kernel pull`: fetch by name with
// progress; Ctrl-C cancels the daemon's work and leaves nothing behind.
func pullCmd(a *app, use, short, long string, complete cobra.CompletionFunc, pull func(ctx context.Context, c *client.Client, name string, prog progress.Func) (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:               use,
		Short:             short,
		Long:              long,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			prog, finish := newProgress(a.stderr)
			var result string
			err := a.call(ctx, func(c *client.Client) (err error) {
				result, err = pull(ctx, c, args[0], prog)
				return err
			})
			finish()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, result)
			return err
		},
	}
}

// rmCmd builds `image rm` and `kernel rm`: remove one or more by name,
// reporting every failure.
func rmCmd(a *app, kind string, complete cobra.CompletionFunc, del func(ctx context.Context, c *client.Client, name string) error) *cobra.Command {
	return &cobra.Command{
		Use:               "rm NAME...",
		Aliases:           []string{"remove", "delete"},
		Short:             "Remove " + kind + "s",
		Long:              fmt.Sprintf("Remove one or more %ss and their files. %s %s still in use is refused, with the names of its users.", kind, article(kind), kind),
		Example:           fmt.Sprintf("  banger %s rm NAME\n  banger %s rm NAME OTHER", kind, kind),
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var errs []error
			for _, name := range args {
				err := a.call(ctx, func(c *client.Client) error { return del(ctx, c, name) })
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(a.stdout, "removed %s %s\n", kind, name)
			}
			return errors.Join(errs...)
		},
	}
}

// showDetail prints a detail value as JSON or as aligned "key: value" rows.
func showDetail(w io.Writer, asJSON bool, v any, rows [][2]string) error {
	if asJSON {
		return writeJSON(w, v)
	}
	t := newTable(w, rows[0][0]+":", rows[0][1])
	for _, r := range rows[1:] {
		t.row(r[0]+":", r[1])
	}
	return t.flush()
}

func usedBy(users []string) string {
	if len(users) == 0 {
		return "-"
	}
	return strings.Join(users, ", ")
}

// article is "An" before a vowel, else "A", to start a sentence on word.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "An"
	}
	return "A"
}

// withExample sets cmd's examples, for commands a builder makes.
func withExample(cmd *cobra.Command, example string) *cobra.Command {
	cmd.Example = example
	return cmd
}

// hostFile is path made absolute for the daemon, once it is known to
// exist: a missing file is said in the user's words, with what to give.
func hostFile(path, what string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return "", errdefs.NotFound("%s does not exist: give the path of %s", path, what)
	}
	return abs, nil
}
