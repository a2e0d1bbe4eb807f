package doctor

import (
	"errors"
	"strings"
	"testing"
)

func TestKVMHardware(t *testing.T) {
	expect(t, checkKVM(goodHost()), Pass, "hardware KVM (kvm_intel)")
	h := goodHost()
	h.modules = map[string]bool{"kvm_amd": true}
	expect(t, checkKVM(h), Pass, "hardware KVM (kvm_amd)")
}

func TestKVMPVMHostWarns(t *testing.T) {
	h := goodHost()
	h.modules = map[string]bool{"kvm_pvm": true}
	r := checkKVM(h)
	expect(t, r, Warn, "PVM")
	if !strings.Contains(r.Summary, "TCG") || !strings.Contains(r.Fix, "CONFIG_PVM_GUEST") {
		t.Fatalf("PVM result does not explain itself: %+v", r)
	}
}

func TestKVMMissingDevice(t *testing.T) {
	h := goodHost()
	delete(h.files, kvmDevice)
	r := checkKVM(h)
	expect(t, r, Fail, "does not exist")
	if !strings.Contains(r.Fix, "kvm_intel") {
		t.Fatalf("fix %q does not name the module", r.Fix)
	}
}

func TestKVMNotOpenable(t *testing.T) {
	h := goodHost()
	h.openErr = errors.New("permission denied")
	r := checkKVM(h)
	expect(t, r, Fail, "not readable and writable")
	if !strings.Contains(r.Fix, "kvm group") {
		t.Fatalf("fix %q does not mention the kvm group", r.Fix)
	}
}
