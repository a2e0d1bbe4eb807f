// Package guestabi is what banger's host side and its guest side agree
// on: where the agent lives in the guest and what it is called, the
// initramfs's /init, banger's kernel command line parameters, the
// module list the initramfs hands to banger-init, and the work disk's
// first-boot marker. The host writes these (bangerd, through packages
// image, oci, initramfs and vmdisk); the guest reads them (the
// banger-vsock-agent binary, through packages guestinit and agent).
//
// Both sides import it, so it holds names and formats only and imports
// nothing outside the standard library's text packages: a host binary
// that needs a guest path gets no guest code with it, and the guest
// binary no host code. Behaviour stays on its own side. The host's
// search for the agent binary to copy into guests is paths.AgentBinary,
// and reading compressed kernel modules is package kmod, used by both
// sides but kept out of here because its decoders are large. A test here
// holds each binary to its side (deps_test.go).
package guestabi

// The agent binary, which is also banger-init and, in images without an
// init of their own, PID 1.
const (
	// AgentName is the agent binary's file name, on the host and in the
	// guest, and the argv[0] the agent gives itself.
	AgentName = "banger-vsock-agent"
	// AgentPath is where images carry the agent.
	AgentPath = "/usr/local/lib/banger/" + AgentName
	// InitPath is the agent's path in the initramfs; started under this
	// name, the binary is banger-init.
	InitPath = "/init"
)

// banger's kernel command line parameters, read by banger-init.
const (
	// OverlayParam names the disk holding the overlayfs upper layer over
	// a shared, read-only root: banger.overlay=/dev/vdb.
	OverlayParam = "banger.overlay"
	// WorkParam names the work disk, mounted at /root: banger.work=/dev/vdc.
	WorkParam = "banger.work"
	// TemplateParam, a bare word, marks a warm template's boot, and so
	// every clone restored from it: networkd leaves eth0 alone (images
	// carry a .network file matching it), and each clone's agent gives
	// the interface its address, route and DNS servers itself.
	TemplateParam = "banger.template"
)

// WorkMarker is the file at the top of a work disk that banger-init
// writes once it has made the disk root's on its first boot. The host
// never writes it and keeps its name out of what it copies to the disk.
const WorkMarker = ".banger-work"
