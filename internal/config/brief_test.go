package config

import (
	"errors"
	"strings"
	"testing"
)

func TestBrief(t *testing.T) {
	_, err := Parse(testFile, []byte("vmm = \"firecracker\"\n[vm_defaults]\nvcpu = \"two\"\n"))
	if got := Brief(err); !strings.HasPrefix(got, "line 3: vm_defaults.vcpu: ") || strings.Contains(got, "more") {
		t.Errorf("one problem: Brief = %q", got)
	}
	_, err = Parse(testFile, []byte("vmm = \"bochs\"\nbridge_name = 7\n"))
	if got := Brief(err); !strings.HasPrefix(got, "line 1: vmm: ") || !strings.HasSuffix(got, "; and 1 more problem") {
		t.Errorf("two problems: Brief = %q", got)
	}
	_, err = Parse(testFile, []byte("vmm = \n"))
	if got := Brief(err); !strings.HasPrefix(got, "line 1: ") || strings.Contains(got, "\n") {
		t.Errorf("bad TOML: Brief = %q", got)
	}
	if got := Brief(errors.New("reading config file x:\npermission denied")); got != "reading config file x: permission denied" {
		t.Errorf("other error: Brief = %q", got)
	}
}
