package doctor

import (
	"errors"
	"io/fs"
)

// kvmDevice is where KVM lives unless Options.KVMDevice says otherwise.
const kvmDevice = "/dev/kvm"

// tcgCost says what running without hardware KVM costs.
const tcgCost = "QEMU runs guests under TCG emulation, roughly 10x slower: a cold boot takes 15-30 s instead of 1-3 s"

// kvmState is what a probe of the host's KVM found.
type kvmState struct {
	usable  bool   // hardware KVM that both VMMs can use
	summary string // what was found
	fix     string // how to get hardware KVM, when not usable
}

// probeKVM looks at dev and the KVM modules, as QEMU's accelerator choice
// does.
func probeKVM(h Host, dev string) kvmState {
	if _, err := h.Stat(dev); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return kvmState{summary: dev + " does not exist",
				fix: "enable VT-x/AMD-V in the firmware (or nested virtualization, when this host is itself a VM), then load the module: sudo modprobe kvm_intel (or kvm_amd)"}
		}
		return kvmState{summary: "cannot stat " + dev + ": " + err.Error(), fix: "check the permissions on /dev"}
	}
	if err := h.OpenRW(dev); err != nil {
		return kvmState{summary: dev + " is not readable and writable by this user",
			fix: "add yourself to the kvm group (sudo usermod -aG kvm $USER) and log in again"}
	}
	for _, mod := range []string{"kvm_intel", "kvm_amd"} {
		if h.HasModule(mod) {
			return kvmState{usable: true, summary: "hardware KVM (" + mod + ")"}
		}
	}
	if h.HasModule("kvm_pvm") {
		return kvmState{summary: "PVM host (kvm_pvm): stock guest kernels cannot use it",
			fix: "use a guest kernel built with CONFIG_PVM_GUEST, or a host with VT-x/AMD-V"}
	}
	return kvmState{usable: true, summary: dev + " usable (no kvm_intel, kvm_amd or kvm_pvm module seen)"}
}

// checkKVM reports whether hardware KVM is usable. Without it QEMU still
// runs guests, only slower, so that is a warning; it fails only when the
// VMM that vmm picks is Firecracker, which cannot run without KVM.
func checkKVM(opts Options) Result {
	const name = "kvm"
	k := probeKVM(opts.Host, opts.kvmDevice())
	if k.usable {
		return pass(name, k.summary)
	}
	if why := firecrackerPicked(opts); why != "" {
		return fail(name, k.summary+"; "+why+", which needs hardware KVM",
			`set vmm = "qemu" in the config to run guests under emulation, or `+k.fix)
	}
	return warn(name, k.summary+"; "+tcgCost, k.fix)
}

// firecrackerPicked says why VMs will run on Firecracker, or is "" when
// they will run on QEMU.
func firecrackerPicked(opts Options) string {
	switch opts.VMM {
	case "firecracker":
		return "vmm = firecracker"
	case "qemu":
		return ""
	}
	if path, err := findFirecracker(opts.Host, opts.FirecrackerBin); err == nil {
		return "vmm = auto picks Firecracker (" + path + ")"
	}
	return ""
}

// kvmDevice is KVMDevice, or /dev/kvm.
func (o Options) kvmDevice() string {
	if o.KVMDevice != "" {
		return o.KVMDevice
	}
	return kvmDevice
}
