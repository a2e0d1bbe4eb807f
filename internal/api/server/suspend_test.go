package server

import (
	"errors"
	"strings"
	"testing"

	"banger/internal/errdefs"
	"banger/internal/store"
	"banger/internal/vm"
)

// Suspend is served at POST /v1/vms/{name}/suspend, and its refusals
// keep their kind on the way to the client.
func TestSuspendThroughTheDaemon(t *testing.T) {
	a := newTestAPI(t)
	if _, err := a.client.SuspendVM(a.ctx, "nosuch", nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("suspend of a missing VM = %v; want not found", err)
	}
	v := store.VM{Name: "box", State: vm.StateStopped, Image: "i", Kernel: "k", VMM: "qemu", VCPU: 1, MemoryMiB: 1, DiskBytes: 1, VID: "cafe"}
	if err := a.store.CreateVM(a.ctx, v); err != nil {
		t.Fatal(err)
	}
	_, err := a.client.SuspendVM(a.ctx, "box", nil)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "banger vm start box") {
		t.Errorf("suspend of a stopped VM = %v; want failed precondition saying how to start it", err)
	}
}
