package firecracker

import (
	"context"
	"net/url"
)

// The request and answer bodies below mirror the definitions of
// Firecracker's API (Swagger 2.0), field for field, for the calls banger
// makes. Fields banger does not use are left out; Firecracker applies its
// defaults to them.

// MachineConfig is the MachineConfiguration body of PUT /machine-config.
type MachineConfig struct {
	VCPUCount       int    `json:"vcpu_count"`
	MemSizeMiB      int    `json:"mem_size_mib"`
	SMT             bool   `json:"smt,omitempty"`
	TrackDirtyPages bool   `json:"track_dirty_pages,omitempty"`
	HugePages       string `json:"huge_pages,omitempty"` // "None", "Transparent" or "2M"
}

// BootSource is the body of PUT /boot-source.
type BootSource struct {
	KernelImagePath string `json:"kernel_image_path"` // an ELF vmlinux on x86_64
	InitrdPath      string `json:"initrd_path,omitempty"`
	BootArgs        string `json:"boot_args,omitempty"`
}

// Drive is the body of PUT /drives/{drive_id}: a virtio block device.
// IsRootDevice and IsReadOnly are always sent, as the spec asks of
// virtio block drives.
type Drive struct {
	DriveID      string `json:"drive_id"`
	PathOnHost   string `json:"path_on_host"`
	IsRootDevice bool   `json:"is_root_device"`
	IsReadOnly   bool   `json:"is_read_only"`
	CacheType    string `json:"cache_type,omitempty"` // "Unsafe" (default) or "Writeback"
	IOEngine     string `json:"io_engine,omitempty"`  // "Sync" (default) or "Async"
}

// NetworkInterface is the body of PUT /network-interfaces/{iface_id}.
type NetworkInterface struct {
	IfaceID     string `json:"iface_id"`
	HostDevName string `json:"host_dev_name"` // the tap
	GuestMAC    string `json:"guest_mac,omitempty"`
}

// Vsock is the body of PUT /vsock. Firecracker's vsock is "hybrid": the
// host side is the unix socket UDSPath, which Firecracker listens on; a
// host process connects to it and sends "CONNECT <port>\n" to reach a
// guest port.
type Vsock struct {
	GuestCID uint32 `json:"guest_cid"`
	UDSPath  string `json:"uds_path"`
}

// ActionType is what PUT /actions asks of Firecracker.
type ActionType string

// The actions of InstanceActionInfo.
const (
	ActionInstanceStart  ActionType = "InstanceStart"
	ActionSendCtrlAltDel ActionType = "SendCtrlAltDel"
	ActionFlushMetrics   ActionType = "FlushMetrics"
)

// InstanceState is InstanceInfo's state.
type InstanceState string

// The states GET / reports.
const (
	InstanceNotStarted InstanceState = "Not started"
	InstanceRunning    InstanceState = "Running"
	InstancePaused     InstanceState = "Paused"
)

// InstanceInfo is the answer to GET /.
type InstanceInfo struct {
	AppName    string        `json:"app_name"`
	ID         string        `json:"id"`
	State      InstanceState `json:"state"`
	VMMVersion string        `json:"vmm_version"`
}

// VMState is the state PATCH /vm sets.
type VMState string

// The states of the Vm definition.
const (
	VMPaused  VMState = "Paused"
	VMResumed VMState = "Resumed"
)

// SnapshotCreate is the SnapshotCreateParams body of PUT /snapshot/create.
// The VM must be paused.
type SnapshotCreate struct {
	SnapshotType string `json:"snapshot_type,omitempty"` // "Full" (default) or "Diff"
	SnapshotPath string `json:"snapshot_path"`
	MemFilePath  string `json:"mem_file_path"`
}

// MemoryBackend says where a snapshot's guest memory comes from.
type MemoryBackend struct {
	BackendType string `json:"backend_type"` // "File" or "Uffd"
	BackendPath string `json:"backend_path"`
}

// SnapshotLoad is the SnapshotLoadParams body of PUT /snapshot/load, which
// only a fresh Firecracker process accepts.
type SnapshotLoad struct {
	SnapshotPath     string            `json:"snapshot_path"`
	MemBackend       *MemoryBackend    `json:"mem_backend,omitempty"`
	TrackDirtyPages  bool              `json:"track_dirty_pages,omitempty"`
	ResumeVM         bool              `json:"resume_vm,omitempty"`
	NetworkOverrides []NetworkOverride `json:"network_overrides,omitempty"`
	VsockOverride    *VsockOverride    `json:"vsock_override,omitempty"`
}

// NetworkOverride gives a restored NIC another tap.
type NetworkOverride struct {
	IfaceID     string `json:"iface_id"`
	HostDevName string `json:"host_dev_name"`
}

// VsockOverride gives a restored vsock device another unix socket.
type VsockOverride struct {
	UDSPath string `json:"uds_path"`
}

// PartialDrive is the body of PATCH /drives/{id}: a booted VM's drive
// pointed at another file.
type PartialDrive struct {
	DriveID    string `json:"drive_id"`
	PathOnHost string `json:"path_on_host,omitempty"`
}

// PutMachineConfig sets the vCPUs and memory. Pre-boot only.
func (c *Client) PutMachineConfig(ctx context.Context, m MachineConfig) error {
	return c.do(ctx, "PUT", "/machine-config", m, nil)
}

// PutBootSource sets the kernel, initrd and kernel command line. Pre-boot
// only.
func (c *Client) PutBootSource(ctx context.Context, b BootSource) error {
	return c.do(ctx, "PUT", "/boot-source", b, nil)
}

// PutDrive adds a block device; the guest sees drives in the order they
// were added. Pre-boot only.
func (c *Client) PutDrive(ctx context.Context, d Drive) error {
	return c.do(ctx, "PUT", "/drives/"+url.PathEscape(d.DriveID), d, nil)
}

// PutNetworkInterface adds a virtio-net device backed by a tap. Pre-boot
// only.
func (c *Client) PutNetworkInterface(ctx context.Context, n NetworkInterface) error {
	return c.do(ctx, "PUT", "/network-interfaces/"+url.PathEscape(n.IfaceID), n, nil)
}

// PutVsock adds the vsock device. Pre-boot only.
func (c *Client) PutVsock(ctx context.Context, v Vsock) error {
	return c.do(ctx, "PUT", "/vsock", v, nil)
}

// Action runs a synchronous action: InstanceStart boots the configured
// VM, SendCtrlAltDel presses Ctrl+Alt+Del on the guest's keyboard.
func (c *Client) Action(ctx context.Context, a ActionType) error {
	return c.do(ctx, "PUT", "/actions", struct {
		ActionType ActionType `json:"action_type"`
	}{a}, nil)
}

// DescribeInstance returns the instance's id, state and version.
func (c *Client) DescribeInstance(ctx context.Context) (InstanceInfo, error) {
	var info InstanceInfo
	err := c.do(ctx, "GET", "/", nil, &info)
	return info, err
}

// PatchVM pauses or resumes a booted VM.
func (c *Client) PatchVM(ctx context.Context, s VMState) error {
	return c.do(ctx, "PATCH", "/vm", struct {
		State VMState `json:"state"`
	}{s}, nil)
}

// CreateSnapshot writes a paused VM's state and memory to files.
func (c *Client) CreateSnapshot(ctx context.Context, s SnapshotCreate) error {
	return c.do(ctx, "PUT", "/snapshot/create", s, nil)
}

// PatchDrive points a booted (or restored) VM's drive at another file.
func (c *Client) PatchDrive(ctx context.Context, d PartialDrive) error {
	return c.do(ctx, "PATCH", "/drives/"+url.PathEscape(d.DriveID), d, nil)
}

// LoadSnapshot restores a snapshot into a fresh Firecracker process.
func (c *Client) LoadSnapshot(ctx context.Context, s SnapshotLoad) error {
	return c.do(ctx, "PUT", "/snapshot/load", s, nil)
}
