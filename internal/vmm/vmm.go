// Package vmm is the one interface banger has to a virtual machine
// monitor. Two drivers implement it, vmm/qemu (QEMU's microvm machine) and
// vmm/firecracker; everything above it (images, disks, network, agent, ssh)
// is shared.
package vmm

import (
	"context"
	"time"
)

// State is what a driver knows of a VM's process.
type State string

// The VM states a driver reports.
const (
	StateRunning State = "running"
	StatePaused  State = "paused"
	StateStopped State = "stopped"
)

// Disk is a block device given to the guest, in order: the first is
// /dev/vda, the root.
type Disk struct {
	ID       string // short id, unique in the VM
	Path     string // host file
	Format   string // "raw" or "qcow2" (QEMU only)
	ReadOnly bool
}

// NIC is a network interface backed by a host tap device.
type NIC struct {
	ID  string
	Tap string // host tap name, already created and attached to the bridge; "" for an unplugged NIC
	MAC string
}

// Spec is everything a driver needs to boot a VM.
type Spec struct {
	Name      string
	VCPU      int
	MemoryMiB int
	Kernel    string // bzImage (QEMU) or ELF vmlinux (Firecracker)
	Initrd    string
	Cmdline   string // kernel command line; drivers add what they need (console, clock flags)
	Disks     []Disk
	NICs      []NIC
	// RunDir is a private per-VM dir for sockets, the pid file and the
	// console log. It must exist.
	RunDir string
	// AgentSocket is the host side of the guest agent's channel: a unix
	// socket the driver creates (vsock's or virtio-serial's).
	AgentSocket string
	// MemoryFile, when set, backs the guest's RAM with this file rather
	// than anonymous memory (QEMU; Firecracker's snapshots always keep
	// RAM in a file of their own). With MemoryShared the guest's writes go
	// to the file: a warm template's guest, whose RAM stays in the file
	// for clones to map. Without it the file is mapped privately: pages
	// are read in as the guest touches them, the ones it never writes
	// stay shared in the page cache with every other VM mapping the same
	// file, and nothing the guest writes reaches the file. The file must
	// not change while any VM maps it: a new template is a new file.
	MemoryFile   string
	MemoryShared bool
}

// Info describes a running VM process.
type Info struct {
	PID         int
	State       State
	Accelerator string // "kvm" or "tcg" (QEMU); "kvm" (Firecracker)
	ConsoleLog  string
}

// Driver starts and controls VMM processes. VMM processes outlive the
// daemon: Start detaches them, and Attach finds them again.
type Driver interface {
	// Name is "qemu" or "firecracker".
	Name() string
	// Start launches the VMM and boots the guest. It returns once the VMM
	// runs, not when the guest is ready.
	Start(ctx context.Context, spec Spec) (Info, error)
	// Attach re-finds a VM started earlier (after a daemon restart) from
	// its RunDir; a VM that is gone reports StateStopped.
	Attach(ctx context.Context, spec Spec) (Info, error)
	// Stop asks the guest to shut down, and kills the VMM if it has not
	// exited by the deadline.
	Stop(ctx context.Context, spec Spec, grace time.Duration) error
	// Kill ends the VMM at once.
	Kill(ctx context.Context, spec Spec) error
	// Wait blocks until the VMM process exits or ctx ends.
	Wait(ctx context.Context, spec Spec) error
	// State reports the VM's state now.
	State(ctx context.Context, spec Spec) (State, error)
}

// Snapshotter is a driver that can save a running guest's memory and
// device state to a file and start another VM from it, for warm starts
// and snapshots.
type Snapshotter interface {
	// SaveState pauses the guest and writes its state to path. The guest
	// stays paused; its disks are consistent with the state once this
	// returns. For a guest with a shared MemoryFile the state leaves the
	// RAM out: it is in the file.
	SaveState(ctx context.Context, spec Spec, path string) error
	// Resume lets a guest paused by SaveState run on, for a snapshot of a
	// VM that keeps running.
	Resume(ctx context.Context, spec Spec) error
	// Restore starts a VM from state saved by SaveState, running. spec
	// describes the same machine; its disk files and taps may differ.
	// spec.MemoryFile, when set, is the shared MemoryFile the state was
	// saved with, which the new VM maps privately.
	Restore(ctx context.Context, spec Spec, path string) (Info, error)
}
