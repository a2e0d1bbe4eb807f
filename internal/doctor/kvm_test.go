package doctor

import (
	"errors"
	"strings"
	"testing"
)

func kvmOpts(h *fakeHost, vmm string) Options {
	return Options{VMM: vmm, Host: h}
}

func TestKVMHardware(t *testing.T) {
	expect(t, checkKVM(kvmOpts(goodHost(), "auto")), Pass, "hardware KVM (kvm_intel)")
	h := goodHost()
	h.modules = map[string]bool{"kvm_amd": true}
	expect(t, checkKVM(kvmOpts(h, "auto")), Pass, "hardware KVM (kvm_amd)")
}

// TestKVMMissingWarnsUnderQEMU: without KVM, QEMU still runs guests, so the
// doctor warns, says how much slower, and says how to get KVM back.
func TestKVMMissingWarnsUnderQEMU(t *testing.T) {
	h := goodHost()
	delete(h.files, kvmDevice)
	delete(h.paths, "firecracker")
	for _, vmm := range []string{"auto", "qemu", ""} {
		r := checkKVM(kvmOpts(h, vmm))
		expect(t, r, Warn, "/dev/kvm does not exist")
		if !strings.Contains(r.Summary, "TCG emulation, roughly 10x slower") || !strings.Contains(r.Summary, "15-30 s instead of 1-3 s") {
			t.Errorf("vmm=%q: summary %q does not say how slow", vmm, r.Summary)
		}
		if !strings.Contains(r.Fix, "VT-x/AMD-V") || !strings.Contains(r.Fix, "modprobe kvm_intel") {
			t.Errorf("vmm=%q: fix %q does not say how to enable KVM", vmm, r.Fix)
		}
	}
}

// TestKVMMissingFailsUnderFirecracker: Firecracker cannot run without KVM,
// whether the config names it or vmm = auto finds it.
func TestKVMMissingFailsUnderFirecracker(t *testing.T) {
	h := goodHost()
	delete(h.files, kvmDevice)
	r := checkKVM(kvmOpts(h, "firecracker"))
	expect(t, r, Fail, "vmm = firecracker, which needs hardware KVM")
	if !strings.Contains(r.Fix, `vmm = "qemu"`) {
		t.Errorf("fix %q does not offer QEMU", r.Fix)
	}
	expect(t, checkKVM(kvmOpts(h, "auto")), Fail, "vmm = auto picks Firecracker (/usr/bin/firecracker)")
	expect(t, checkKVM(kvmOpts(h, "qemu")), Warn, "TCG")
}

func TestKVMDeviceOption(t *testing.T) {
	h := goodHost()
	opts := kvmOpts(h, "qemu")
	opts.KVMDevice = "/nonexistent/kvm"
	expect(t, checkKVM(opts), Warn, "/nonexistent/kvm does not exist")
}

func TestKVMPVMHostWarns(t *testing.T) {
	h := goodHost()
	h.modules = map[string]bool{"kvm_pvm": true}
	delete(h.paths, "firecracker")
	r := checkKVM(kvmOpts(h, "auto"))
	expect(t, r, Warn, "PVM")
	if !strings.Contains(r.Summary, "TCG") || !strings.Contains(r.Fix, "CONFIG_PVM_GUEST") {
		t.Fatalf("PVM result does not explain itself: %+v", r)
	}
}

func TestKVMNotOpenable(t *testing.T) {
	h := goodHost()
	h.openErr = errors.New("permission denied")
	r := checkKVM(kvmOpts(h, "qemu"))
	expect(t, r, Warn, "not readable and writable")
	if !strings.Contains(r.Fix, "kvm group") {
		t.Fatalf("fix %q does not mention the kvm group", r.Fix)
	}
}
