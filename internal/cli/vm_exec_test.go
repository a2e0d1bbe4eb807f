package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestVMExecOwnFailuresExit255(t *testing.T) {
	hermetic(t)
	for _, args := range [][]string{
		{"vm", "exec", "box", "uname"},
		{"vm", "exec", "box", "-e", "NOEQUALS", "--", "true"},
	} {
		err := Run(context.Background(), args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		if code := Report(&bytes.Buffer{}, err); code != 255 {
			t.Errorf("banger %s: exit %d (%v); want 255", strings.Join(args, " "), code, err)
		}
	}
}

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
