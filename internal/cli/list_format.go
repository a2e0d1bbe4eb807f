package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"banger/internal/errdefs"
)

// formatHelp is how --format is described on every list verb.
const formatHelp = "print each item through a Go `TEMPLATE`, as in '{{.Name}}': the fields are those --json prints, by their Go names; {{json .}} prints one as JSON"

// addListFlags gives a list verb its output flags: --json, --quiet and
// --format, bound to opts.
func addListFlags(cmd *cobra.Command, opts *ListOptions) {
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print only names, one per line")
	cmd.Flags().StringVar(&opts.Format, "format", "", formatHelp)
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.NoFileCompletions)
}

// listOptionsOf reads the output flags addListFlags gave cmd, for a verb
// that lists something else with the same flags (image list --catalog).
func listOptionsOf(cmd *cobra.Command, stdout io.Writer) ListOptions {
	f := cmd.Flags()
	opts := ListOptions{Stdout: stdout}
	opts.JSON, _ = f.GetBool("json")
	opts.Quiet, _ = f.GetBool("quiet")
	opts.Format, _ = f.GetString("format")
	return opts
}

// template checks that at most one output flag is set, and parses
// --format; it is nil without one.
func (o ListOptions) template() (*template.Template, error) {
	set := 0
	for _, on := range []bool{o.JSON, o.Quiet, o.Format != ""} {
		if on {
			set++
		}
	}
	if set > 1 {
		return nil, errdefs.InvalidArgument("--json, --quiet and --format each choose what to print: pass only one of them")
	}
	if o.Format == "" {
		return nil, nil
	}
	t, err := template.New("--format").Funcs(template.FuncMap{"json": compactJSON}).Parse(o.Format)
	if err != nil {
		return nil, errdefs.InvalidArgument("%s; write fields as {{.Name}}", strings.TrimPrefix(err.Error(), "template: "))
	}
	return t, nil
}

// writeTemplate prints each item through t, one per line. Items hold what
// guests said, so the text is made safe for a terminal (tabs and newlines
// stay). With no items, t runs once against an empty one, so that a
// misspelt field is reported even then.
func writeTemplate[T any](w io.Writer, t *template.Template, items []T) error {
	if len(items) == 0 {
		var zero T
		err := t.Execute(io.Discard, zero)
		if err != nil && strings.Contains(err.Error(), "can't evaluate field") {
			return templateError(err)
		}
		return nil
	}
	var b bytes.Buffer
	for _, item := range items {
		b.Reset()
		if err := t.Execute(&b, item); err != nil {
			return templateError(err)
		}
		if _, err := io.WriteString(w, safeText(b.String())+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func templateError(err error) error {
	return errdefs.InvalidArgument("%s: the fields are those --json prints, by their Go names, as in {{.Name}}", strings.TrimPrefix(err.Error(), "template: "))
}

// compactJSON is the template function json: v on one line.
func compactJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
