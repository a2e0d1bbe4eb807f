package web

import (
	"strings"
	"testing"

	"banger/internal/api"
)

// A suspended VM is listed as such with a Start button, which resumes it.
func TestSuspendedVMCanBeStarted(t *testing.T) {
	s := newTestServer(t, newFake(
		api.VM{Name: "nap", State: "suspended", VMM: "qemu", IP: "172.16.0.3", VCPU: 1, MemoryMiB: 512, DiskBytes: 8 << 30},
	))
	body := get(s, "/").Body.String()
	for _, want := range []string{`data-state="suspended"`, `action="/vms/nap/start"`} {
		if !strings.Contains(body, want) {
			t.Errorf("VM list lacks %q", want)
		}
	}
	if page := get(s, "/parts/vms/nap").Body.String(); !strings.Contains(page, `id="start"`) {
		t.Errorf("a suspended VM's page has no start button:\n%s", page)
	}
}
