package cli

import (
	"strings"
	"testing"

	"banger/internal/api"
)

func TestListFormat(t *testing.T) {
	items := []api.Session{
		{VM: "box", Name: "web", State: "running", Command: "python3 -m http.server"},
		{VM: "box", Name: "evil", State: "exited", Command: "echo \x1b]0;pwned\x07"},
	}
	tests := []struct{ format, want string }{
		{"{{.Name}}", "web\nevil\n"},
		{"{{.VM}}/{{.Name}}\t{{.State}}", "box/web\trunning\nbox/evil\texited\n"},
		{`{{json .Name}}`, "\"web\"\n\"evil\"\n"},
		{`{{.Command}}`, "python3 -m http.server\necho ^[]0;pwned^G\n"},
	}
	for _, tt := range tests {
		tmpl, err := ListOptions{Format: tt.format}.template()
		if err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		var b strings.Builder
		if err := writeTemplate(&b, tmpl, items); err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		if b.String() != tt.want {
			t.Errorf("%s printed %q, want %q", tt.format, b.String(), tt.want)
		}
	}
}

func TestListFormatErrors(t *testing.T) {
	if _, err := (ListOptions{Format: "{{.Name"}).template(); err == nil || !strings.Contains(err.Error(), "unclosed action") {
		t.Errorf("unclosed template: %v", err)
	}
	if _, err := (ListOptions{JSON: true, Quiet: true}).template(); err == nil || !strings.Contains(err.Error(), "only one") {
		t.Errorf("--json with --quiet: %v", err)
	}
	tmpl, err := ListOptions{Format: "{{.Nmae}}"}.template()
	if err != nil {
		t.Fatal(err)
	}
	// A misspelt field is reported even when there is nothing to list.
	for _, items := range [][]api.VM{nil, {{Name: "box"}}} {
		err := writeTemplate(&strings.Builder{}, tmpl, items)
		if err == nil || !strings.Contains(err.Error(), "can't evaluate field Nmae") {
			t.Errorf("%d items: %v", len(items), err)
		}
	}
	// A field behind a nil pointer is no error with nothing to list.
	tmpl, _ = ListOptions{Format: "{{.Exit.Code}}"}.template()
	if err := writeTemplate(&strings.Builder{}, tmpl, []api.Session(nil)); err != nil {
		t.Errorf("nil pointer on no items: %v", err)
	}
}

func TestConfirm(t *testing.T) {
	for answer, want := range map[string]bool{"y\n": true, "Yes\n": true, "\n": false, "n\n": false, "": false, "yes please\n": false} {
		var out strings.Builder
		got, err := confirm(strings.NewReader(answer), &out, "Delete? [y/N] ")
		if err != nil || got != want {
			t.Errorf("answer %q: %v %v, want %v", answer, got, err, want)
		}
		if out.String() != "Delete? [y/N] " {
			t.Errorf("asked %q", out.String())
		}
	}
}
