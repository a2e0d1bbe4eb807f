package label

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestValidateKey(t *testing.T) {
	good := []string{"team", "a", "A1", "app.kubernetes.io/name", "e2b.dev/sandbox-id", "x_y.z-1", strings.Repeat("k", 63)}
	for _, k := range good {
		if err := ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want ok", k, err)
		}
	}
	bad := map[string]string{
		"":                                "empty label key",
		"-team":                           "starting and ending with a letter or digit",
		"team-":                           "starting and ending with a letter or digit",
		"te am":                           "want [PREFIX/]NAME",
		"a/b/c":                           "want [PREFIX/]NAME",
		"Example.com/x":                   `prefix "Example.com" is not a DNS name`,
		"/x":                              `prefix "" is not a DNS name`,
		"x/":                              "want [PREFIX/]NAME",
		strings.Repeat("k", 64):           "64 characters long, more than 63",
		"ex..com/x":                       "is not a DNS name",
		"caf\u00e9":                       "want [PREFIX/]NAME",
		"key=value":                       "want [PREFIX/]NAME",
		strings.Repeat("a.", 127) + "a/x": "is not a DNS name",
	}
	for k, want := range bad {
		err := ValidateKey(k)
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateKey(%q) = %v, want an invalid-argument error saying %q", k, err, want)
		}
	}
}

func TestValidateValue(t *testing.T) {
	for _, v := range []string{"", "prod", "hello world", "caf\u00e9 \u2615", strings.Repeat("v", 256)} {
		if err := ValidateValue("k", v); err != nil {
			t.Errorf("ValidateValue(%q) = %v, want ok", v, err)
		}
	}
	bad := map[string]string{
		strings.Repeat("v", 257): "257 bytes long, more than 256",
		"a\nb":                   "not printable",
		"tab\there":              "not printable",
		"\xff":                   "not UTF-8",
		"esc\x1b[0m":             "not printable",
	}
	for v, want := range bad {
		err := ValidateValue("k", v)
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateValue(%q) = %v, want an error saying %q", v, err, want)
		}
	}
}

func TestValidateCountsLabels(t *testing.T) {
	m := map[string]string{}
	for i := range MaxLabels {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	if err := Validate(m); err != nil {
		t.Fatalf("Validate(%d labels) = %v, want ok", len(m), err)
	}
	m["one-more"] = "v"
	if err := Validate(m); err == nil || !strings.Contains(err.Error(), "65 labels: a VM has at most 64") {
		t.Fatalf("Validate(65 labels) = %v, want a refusal", err)
	}
}

func TestParseMap(t *testing.T) {
	got, err := ParseMap([]string{"team=infra", "empty=", "team=web", "url=http://x/?a=b"})
	want := map[string]string{"team": "web", "empty": "", "url": "http://x/?a=b"}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("ParseMap = %v, %v; want %v", got, err, want)
	}
	if _, err := ParseMap([]string{"team"}); err == nil || !strings.Contains(err.Error(), `label "team": want KEY=VALUE`) {
		t.Fatalf("ParseMap(team) = %v, want KEY=VALUE asked", err)
	}
	if got, err := ParseMap(nil); err != nil || got != nil {
		t.Fatalf("ParseMap(nil) = %v, %v; want nil", got, err)
	}
}

func TestEdit(t *testing.T) {
	cur := map[string]string{"team": "infra", "tier": "db"}
	got, err := Edit(cur, []string{"team=web", "tier-", "new=1", "absent-"})
	want := map[string]string{"team": "web", "new": "1"}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("Edit = %v, %v; want %v", got, err, want)
	}
	if cur["team"] != "infra" || len(cur) != 2 {
		t.Errorf("Edit changed its input: %v", cur)
	}
	// A value may end with '-': only KEY- alone removes.
	if got, err := Edit(nil, []string{"range=1-"}); err != nil || got["range"] != "1-" {
		t.Errorf("Edit(range=1-) = %v, %v; want range set to 1-", got, err)
	}
	if _, err := Edit(nil, []string{"team"}); err == nil || !strings.Contains(err.Error(), "or KEY- to remove KEY") {
		t.Errorf("Edit(team) = %v, want the two forms named", err)
	}
	if _, err := Edit(nil, []string{"-bad-"}); err == nil {
		t.Error("Edit(-bad-) took an invalid key")
	}
}

func TestSelector(t *testing.T) {
	sel, err := ParseSelector([]string{"team=infra", "tier"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"team": "infra", "tier": ""}, true},
		{map[string]string{"team": "infra", "tier": "db", "x": "y"}, true},
		{map[string]string{"team": "infra"}, false},
		{map[string]string{"team": "web", "tier": "db"}, false},
		{nil, false},
	}
	for _, c := range cases {
		if got := sel.Matches(c.labels); got != c.want {
			t.Errorf("%v matches %v = %v, want %v", sel.Strings(), c.labels, got, c.want)
		}
	}
	if !Selector(nil).Matches(nil) {
		t.Error("an empty selector must match every VM")
	}
	if got := strings.Join(sel.Strings(), ","); got != "team=infra,tier" {
		t.Errorf("Strings = %q", got)
	}
	if _, err := ParseSelector([]string{"bad key=x"}); err == nil {
		t.Error("ParseSelector took an invalid key")
	}
	// An empty value is a value: it matches only the empty value.
	sel, _ = ParseSelector([]string{"tier="})
	if sel.Matches(map[string]string{"tier": "db"}) || !sel.Matches(map[string]string{"tier": ""}) {
		t.Error("tier= must match only an empty tier")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"team=infra", "a/b=c", "=", "x=\n", "k-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, v, err := Parse(s)
		if err != nil {
			return
		}
		if Validate(map[string]string{k: v}) != nil || k+"="+v != s {
			t.Fatalf("Parse(%q) = %q, %q, which do not check or round-trip", s, k, v)
		}
	})
}
