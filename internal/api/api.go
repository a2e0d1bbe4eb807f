// Package api defines the wire types of bangerd's HTTP+JSON API, served on a
// unix socket under /v1/. The client and the daemon both use these types, so
// this package holds no logic beyond encoding.
package api

import (
	"strconv"
	"strings"
	"time"

	"banger/internal/errdefs"
)

// Prefix is the path prefix of this API version.
const Prefix = "/v1"

// VersionHeader carries the build version of the sender, both ways. A daemon
// refuses requests from a CLI of another version (see KindVersionMismatch) so
// the CLI can restart it before anything runs.
const VersionHeader = "Banger-Version"

// ConfigWarningHeader is set on the daemon's answers while config.toml is
// invalid: it says what is wrong, and that the daemon uses the last good
// config meanwhile.
const ConfigWarningHeader = "Banger-Config-Warning"

// KindVersionMismatch is the error kind a daemon answers with when the
// client's version differs from its own. It is not an errdefs kind: the
// client handles it itself and never shows it to a user.
const KindVersionMismatch = "version_mismatch"

// Error is the body of every non-2xx response.
type Error struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// ErrorResponse wraps Error on the wire.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// ErrorFrom builds the wire error for err.
func ErrorFrom(err error) Error {
	return Error{Kind: string(errdefs.KindOf(err)), Message: err.Error()}
}

// Err turns a wire error back into an error that matches the errdefs
// sentinels with errors.Is.
func (e Error) Err() error {
	return errdefs.New(errdefs.Kind(e.Kind), "%s", e.Message)
}

// DaemonInfo describes the running daemon (GET /v1/daemon).
type DaemonInfo struct {
	Version   string    `json:"version"`
	PID       int       `json:"pid"`
	Socket    string    `json:"socket"`
	StartedAt time.Time `json:"started_at"`
	StateDir  string    `json:"state_dir"`
	LogFile   string    `json:"log_file"`
	Schema    int       `json:"schema_version"`
	// ConfigWarning is set while config.toml is invalid; see
	// ConfigWarningHeader.
	ConfigWarning string `json:"config_warning,omitempty"`
	// WebAddr is where the web UI listens; empty while it is off.
	WebAddr string `json:"web_addr,omitempty"`
	// WebError says why the web UI is off although web_listen_addr asks
	// for it (a taken port, say). The API serves regardless.
	WebError string `json:"web_error,omitempty"`
	// E2BAddr is where the E2B API listens, and E2BError why it is off
	// although e2b_listen_addr asks for it; both empty when it is not set.
	E2BAddr  string `json:"e2b_addr,omitempty"`
	E2BError string `json:"e2b_error,omitempty"`
}

// VM is a virtual machine as the API reports it.
type VM struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	Image     string `json:"image"`
	Kernel    string `json:"kernel"`
	VMM       string `json:"vmm"`
	VCPU      int    `json:"vcpu"`
	MemoryMiB int    `json:"memory_mib"`
	DiskBytes int64  `json:"disk_bytes"`
	IP        string `json:"ip,omitempty"`
	Accel     string `json:"accel,omitempty"`     // "kvm" or "tcg" while running
	RootMode  string `json:"root_mode,omitempty"` // "clone" or "overlay"
	MAC       string `json:"mac,omitempty"`
	Network   string `json:"network"` // the network policy: internet, none, open or allow=LIST
	LastError string `json:"last_error,omitempty"`
	// Workspace is the repository copied in when the VM was made.
	Workspace *WorkspaceCopy `json:"workspace,omitempty"`
	CreatedAt time.Time      `json:"created_at"`

	// Ports are the host ports forwarded to the guest.
	Ports []PortForward `json:"ports,omitempty"`
	// Labels are the VM's KEY=VALUE labels.
	Labels map[string]string `json:"labels,omitempty"`
	// ExpiresAt is when the daemon deletes the VM; absent for never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// LabelQuery is the query parameter of GET /v1/vms that keeps only the
// VMs whose labels match, once per term: KEY=VALUE or KEY (any value).
const LabelQuery = "label"

// SetLabelsRequest replaces a VM's labels (PUT /v1/vms/{name}/labels);
// none removes them all.
type SetLabelsRequest struct {
	Labels map[string]string `json:"labels"`
}

// SetExpiryRequest says when the daemon deletes a VM
// (PUT /v1/vms/{name}/expiry); absent or zero for never.
type SetExpiryRequest struct {
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// PortForward is a host port forwarded to a guest port by bangerd
// (Docker's -p HOSTADDR:HOSTPORT:GUESTPORT/PROTO).
type PortForward struct {
	HostAddr  string `json:"host_addr,omitempty"` // empty: 127.0.0.1
	HostPort  int    `json:"host_port"`           // as asked; 0 for any free port
	GuestPort int    `json:"guest_port"`
	Proto     string `json:"proto,omitempty"` // "tcp" (empty) or "udp"
	// Bound is the host port held while the VM runs; 0 otherwise.
	Bound int `json:"bound,omitempty"`
}

// String is p as `vm list` shows it, Docker's way,
// 127.0.0.1:18080->8000/tcp; the host port is "*" while a free one is
// yet to be picked.
func (p PortForward) String() string {
	addr, port, proto := p.HostAddr, strconv.Itoa(p.HostPort), p.Proto
	if addr == "" {
		addr = "127.0.0.1"
	}
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	if p.Bound != 0 {
		port = strconv.Itoa(p.Bound)
	} else if p.HostPort == 0 {
		port = "*"
	}
	if proto == "" {
		proto = "tcp"
	}
	return addr + ":" + port + "->" + strconv.Itoa(p.GuestPort) + "/" + proto
}

// AddPortsRequest forwards more ports to a VM (POST /v1/vms/{name}/ports).
// Removing is DELETE /v1/vms/{name}/ports?port=[HOSTADDR:]HOSTPORT[/PROTO].
type AddPortsRequest struct {
	Ports []PortForward `json:"ports"`
}

// WorkspaceCopy is a repository copied into a VM, as the daemon resolved
// it: the guest's copy is /root/NAME, and SUB the directory asked for.
type WorkspaceCopy struct {
	Top    string `json:"top"` // the work tree's top directory on the host
	Name   string `json:"name"`
	Sub    string `json:"sub,omitempty"`
	From   string `json:"from,omitempty"`
	Commit string `json:"commit,omitempty"`
	Branch string `json:"branch,omitempty"`
}

// SetNetworkRequest gives a VM another network policy
// (PUT /v1/vms/{name}/network). A running VM's rules change at once.
type SetNetworkRequest struct {
	Network string `json:"network"` // internet, none, open or allow=LIST
}

// SSHTarget is how to reach a running VM with OpenSSH
// (GET /v1/vms/{name}/ssh).
type SSHTarget struct {
	User       string `json:"user"`
	Host       string `json:"host"`
	Key        string `json:"key"`         // private key file
	KnownHosts string `json:"known_hosts"` // the VM's host keys, as its agent reported them
	Alias      string `json:"alias"`       // the host name the known_hosts entries carry
}

// CreateVMRequest asks for a new VM (POST /v1/vms). The CLI resolves every
// default before sending, so the daemon receives explicit values.
type CreateVMRequest struct {
	Name      string `json:"name"`
	Image     string `json:"image"`
	Kernel    string `json:"kernel,omitempty"`
	VCPU      int    `json:"vcpu"`
	MemoryMiB int    `json:"memory_mib"`
	DiskBytes int64  `json:"disk_bytes"`
	// Network is the VM's network policy (internet, none, open or
	// allow=LIST); empty means the config's network_policy.
	Network string `json:"network,omitempty"`
	// Cold boots the kernel even when a warm template could be restored.
	Cold bool `json:"cold,omitempty"`
	// AgentExec says the caller runs its commands through the guest agent
	// (vm run -- CMD), not ssh: a VM restored from a warm template is then
	// answered once its guest took its identity, without waiting for its
	// sshd, which may take a moment more to answer.
	AgentExec bool `json:"agent_exec,omitempty"`
	// Workspace, when set, asks for a copy of a git repository in /root.
	Workspace *Workspace `json:"workspace,omitempty"`
	// FromSnapshot restores the VM from a snapshot instead of booting an
	// image; image, kernel, sizes, cold and workspace must then be empty.
	FromSnapshot string `json:"from_snapshot,omitempty"`

	// Ports are host ports to forward to the guest once it runs.
	Ports []PortForward `json:"ports,omitempty"`
	// Labels are KEY=VALUE labels for the VM (see internal/label).
	Labels map[string]string `json:"labels,omitempty"`
	// ExpiresAt, when set, is when the daemon deletes the VM, whatever
	// its state; it must be in the future.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Snapshot is a running VM saved whole, memory and disks, by
// POST /vms/{name}/snapshot; VMs are made from it with FromSnapshot.
type Snapshot struct {
	Name      string    `json:"name"`
	VM        string    `json:"vm"` // the VM it was taken of
	Image     string    `json:"image"`
	Kernel    string    `json:"kernel"`
	VCPU      int       `json:"vcpu"`
	MemoryMiB int       `json:"memory_mib"`
	DiskBytes int64     `json:"disk_bytes"`
	VMM       string    `json:"vmm"`
	Accel     string    `json:"accel"`
	Bytes     int64     `json:"bytes"` // on disk
	CreatedAt time.Time `json:"created_at"`
}

// SnapshotVMRequest names a new snapshot; empty means VM-YYYYMMDD-HHMMSS.
type SnapshotVMRequest struct {
	Name string `json:"name,omitempty"`
}

// Workspace names a git repository on the host to copy to a new VM's
// /root/NAME, NAME being the repository's directory name.
type Workspace struct {
	Path   string `json:"path"`             // absolute; a directory in the work tree
	From   string `json:"from,omitempty"`   // commit, tag or branch instead of the working tree
	Branch string `json:"branch,omitempty"` // a new branch for the copy
}

// Image is a root filesystem image.
type Image struct {
	Name      string    `json:"name"`
	Source    string    `json:"source"`
	Kernel    string    `json:"kernel,omitempty"`
	SizeBytes int64     `json:"size_bytes"`
	CreatedAt time.Time `json:"created_at"`
}

// Kernel is a guest kernel.
type Kernel struct {
	Name      string    `json:"name"`
	Version   string    `json:"version,omitempty"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}
