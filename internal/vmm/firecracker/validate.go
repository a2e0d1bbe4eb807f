package firecracker

import (
	"bytes"
	"io"
	"os"

	"banger/internal/errdefs"
	"banger/internal/vmm"
)

// maxSocketPath is the longest path a unix socket address holds.
const maxSocketPath = 107

// maxVCPU is the most vCPUs Firecracker gives a VM.
const maxVCPU = 32

// validate refuses, before anything is spawned, what Firecracker cannot
// do or would reject with a less clear error.
func validate(spec vmm.Spec) error {
	if spec.VCPU < 1 || spec.VCPU > maxVCPU {
		return errdefs.InvalidArgument("VCPU is %d; Firecracker runs 1 to %d", spec.VCPU, maxVCPU)
	}
	if spec.MemoryMiB <= 0 {
		return errdefs.InvalidArgument("MemoryMiB is %d, want more than 0", spec.MemoryMiB)
	}
	if st, err := os.Stat(spec.RunDir); err != nil || !st.IsDir() {
		return errdefs.InvalidArgument("RunDir %q is not a directory", spec.RunDir)
	}
	if len(apiSocketPath(spec)) > maxSocketPath {
		return errdefs.InvalidArgument("RunDir %q is too long for a unix socket path in it", spec.RunDir)
	}
	if spec.AgentSocket == "" || len(spec.AgentSocket) > maxSocketPath {
		return errdefs.InvalidArgument("AgentSocket %q is not a usable unix socket path (1 to %d bytes)", spec.AgentSocket, maxSocketPath)
	}
	if err := validateKernel(spec.Kernel); err != nil {
		return err
	}
	// The initramfs mounts the root disk: without it nothing boots.
	if err := isFile("Initrd", spec.Initrd); err != nil {
		return err
	}
	if err := validateDisks(spec.Disks); err != nil {
		return err
	}
	return validateNICs(spec.NICs)
}

// validateKernel checks that path is an ELF vmlinux: Firecracker on x86_64
// does not boot a compressed bzImage.
func validateKernel(path string) error {
	if err := isFile("Kernel", path); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return errdefs.InvalidArgument("Kernel %q: %v", path, err)
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte("\x7fELF")) {
		return errdefs.InvalidArgument("Kernel %q is not an ELF vmlinux, the only kernel format Firecracker boots: use the kernel's vmlinux, not its bzImage", path)
	}
	return nil
}

// validateDisks refuses formats Firecracker cannot read and duplicate ids,
// which Firecracker would take as an update of the earlier drive.
func validateDisks(disks []vmm.Disk) error {
	seen := map[string]bool{}
	for _, disk := range disks {
		if disk.ID == "" || seen[disk.ID] {
			return errdefs.InvalidArgument("disk id %q is empty or used twice", disk.ID)
		}
		seen[disk.ID] = true
		if disk.Format != "" && disk.Format != "raw" {
			return errdefs.InvalidArgument("disk %s is %s, but Firecracker reads raw images only: convert it (qemu-img convert -O raw) or use vmm = \"qemu\"", disk.ID, disk.Format)
		}
		if err := isFile("disk "+disk.ID, disk.Path); err != nil {
			return err
		}
	}
	return nil
}

// validateNICs refuses NICs without a tap and duplicate ids.
func validateNICs(nics []vmm.NIC) error {
	seen := map[string]bool{}
	for _, nic := range nics {
		if nic.ID == "" || seen[nic.ID] {
			return errdefs.InvalidArgument("NIC id %q is empty or used twice", nic.ID)
		}
		seen[nic.ID] = true
		if nic.Tap == "" {
			return errdefs.InvalidArgument("NIC %s has no tap device", nic.ID)
		}
	}
	return nil
}

func isFile(field, path string) error {
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		return errdefs.InvalidArgument("%s %q is not a file", field, path)
	}
	return nil
}
