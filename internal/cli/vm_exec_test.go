package cli

import (
	"strings"
	"testing"
)

func TestParseSessionRef(t *testing.T) {
	if vm, s, err := parseSessionRef("box/web"); err != nil || vm != "box" || s != "web" {
		t.Errorf("box/web = %q %q %v", vm, s, err)
	}
	for _, bad := range []string{"box", "/web", "box/", "a/b/c"} {
		if _, _, err := parseSessionRef(bad); err == nil || !strings.Contains(err.Error(), "VM/SESSION") {
			t.Errorf("%q: %v; want an error naming the VM/SESSION form", bad, err)
		}
	}
}
