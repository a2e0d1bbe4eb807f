package web

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/config"
)

// inputTag returns the <input> tag of body whose name is name.
func inputTag(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<input [^>]*name="` + name + `"[^>]*>`).FindString(body)
	if m == "" {
		t.Fatalf("no input %s in:\n%s", name, body)
	}
	return m
}

func TestCreateFormNumberInputs(t *testing.T) {
	s := newTestServer(t, newFake())
	body := get(s, "/").Body.String()
	for _, tt := range []struct {
		name     string
		min, max int
		value    string
	}{
		{"vcpu", config.MinVCPU, config.MaxVCPU, "1"},
		{"memory_mib", config.MinMemoryMiB, config.MaxMemoryMiB, "1024"},
	} {
		tag := inputTag(t, body, tt.name)
		for _, want := range []string{`type="number"`, fmt.Sprintf(`min="%d"`, tt.min), fmt.Sprintf(`max="%d"`, tt.max), `value="` + tt.value + `"`} {
			if !strings.Contains(tag, want) {
				t.Errorf("input %s lacks %s: %s", tt.name, want, tag)
			}
		}
	}
	// The disk size takes units (8G), so it stays text.
	if tag := inputTag(t, body, "disk_size"); strings.Contains(tag, `type="number"`) {
		t.Errorf("disk size is a number input: %s", tag)
	}
}

// TestTablesScrollSideways: on a phone a wide table scrolls within its
// box instead of widening the page.
func TestTablesScrollSideways(t *testing.T) {
	f := newFake(api.VM{Name: "box", State: "running"})
	f.sessions = []api.Session{{VM: "box", Name: "build", Command: "make", State: "running"}}
	f.snaps = []api.Snapshot{{Name: "snap", VM: "box"}}
	s := newTestServer(t, f)
	for _, path := range []string{"/", "/images", "/parts/images", "/kernels", "/snapshots", "/vms/box"} {
		body := get(s, path).Body.String()
		tables := strings.Count(body, "<table")
		if tables == 0 {
			t.Errorf("%s: no table", path)
		}
		if wrapped := strings.Count(body, `<div class="scroll"><table`); wrapped != tables {
			t.Errorf("%s: %d of %d tables in a scrolling box:\n%s", path, wrapped, tables, body)
		}
	}
	css := cssRule(t, ".scroll")
	if !strings.Contains(css, "overflow-x: auto") {
		t.Errorf(".scroll does not scroll sideways: %s", css)
	}
}

// TestConsoleBoxEmptyTakesNoRoom: before any output the console is not
// a tall dark box, and with output it grows up to a bound, then scrolls.
func TestConsoleBoxEmptyTakesNoRoom(t *testing.T) {
	s := newTestServer(t, newFake(api.VM{Name: "box", State: "stopped"}))
	body := get(s, "/vms/box").Body.String()
	if !regexp.MustCompile(`<pre id="console"[^>]*></pre>`).MatchString(body) {
		t.Errorf("the console box is not empty before output:\n%s", body)
	}
	rule := cssRule(t, "pre#console")
	if regexp.MustCompile(`(^|[^-])height:`).MatchString(rule) || !strings.Contains(rule, "max-height:") || !strings.Contains(rule, "overflow: auto") {
		t.Errorf("the console has a fixed height, or no bound: %s", rule)
	}
	if empty := cssRule(t, "pre#console:empty"); !strings.Contains(empty, "display: none") {
		t.Errorf("an empty console still shows: %s", empty)
	}
}

// cssRule returns the declarations of app.css's rule for selector.
func cssRule(t *testing.T, selector string) string {
	t.Helper()
	css, err := assets.ReadFile("assets/static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(selector) + ` \{([^}]*)\}`).FindSubmatch(css)
	if m == nil {
		t.Fatalf("app.css has no rule for %s", selector)
	}
	return string(m[1])
}
