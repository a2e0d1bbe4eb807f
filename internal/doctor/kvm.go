package doctor

import (
	"errors"
	"io/fs"
)

const kvmDevice = "/dev/kvm"

// checkKVM reports whether /dev/kvm is usable and which kind of KVM serves it.
func checkKVM(h Host) Result {
	const name = "kvm"
	if _, err := h.Stat(kvmDevice); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(name, kvmDevice+" does not exist",
				"enable VT-x/AMD-V in the firmware, then load the module: sudo modprobe kvm_intel (or kvm_amd)")
		}
		return fail(name, "cannot stat "+kvmDevice+": "+err.Error(), "check the permissions on /dev")
	}
	if err := h.OpenRW(kvmDevice); err != nil {
		return fail(name, kvmDevice+" is not readable and writable by this user",
			"add yourself to the kvm group (sudo usermod -aG kvm $USER) and log in again")
	}
	for _, mod := range []string{"kvm_intel", "kvm_amd"} {
		if h.HasModule(mod) {
			return pass(name, "hardware KVM ("+mod+")")
		}
	}
	if h.HasModule("kvm_pvm") {
		return warn(name,
			"PVM host (kvm_pvm): stock guest kernels cannot use it, so banger runs them under QEMU's TCG emulation (slow boots)",
			"use a guest kernel built with CONFIG_PVM_GUEST, or a host with VT-x/AMD-V")
	}
	return pass(name, kvmDevice+" usable (no kvm_intel, kvm_amd or kvm_pvm module seen)")
}
