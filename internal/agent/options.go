package agent

import (
	"context"
	"log/slog"
	"time"

	"banger/internal/agent/agentproto"
)

// Options says where the agent finds the things it serves and reports. The
// zero value of a channel field turns that channel off; DefaultOptions
// gives a real guest's settings, and tests point the paths elsewhere.
type Options struct {
	// SerialPath is the virtio-serial port to serve on; "" for none. When
	// the node is missing (udev names ports, and an OCI guest has no udev)
	// the port named SerialName is looked up under SysVirtioPorts and
	// opened in DevDir.
	SerialPath     string
	SerialName     string
	SysVirtioPorts string
	DevDir         string
	// DeviceWait is how long to wait for the serial port to appear and for
	// AF_VSOCK to work.
	DeviceWait time.Duration
	// VsockPort is the AF_VSOCK port to listen on; 0 for none.
	VsockPort uint32

	// SSHDPath is sshd's binary; when it exists, readiness needs sshd.
	SSHDPath string
	// HostKeyDir holds sshd's ssh_host_*_key.pub files.
	HostKeyDir string
	// SSHAddr is where sshd should accept TCP connections.
	SSHAddr string
	// ProcDir is where procfs is mounted, for the uptime, boot id,
	// memory and load.
	ProcDir string
	// Filesystems are the paths whose filesystems' use stats reports.
	Filesystems []string
	// Addresses lists the guest's addresses in CIDR form; nil means the
	// addresses of this machine's interfaces.
	Addresses func() ([]string, error)
	// Poweroff turns the guest off; it is called after the shutdown
	// request has been answered. Nil refuses shutdown requests.
	Poweroff func() error
	// Identify makes a guest restored from a template its own machine; nil
	// refuses identify requests.
	Identify func(context.Context, agentproto.Identity) error
	// SetClock sets the guest's wall clock; nil refuses set-clock requests.
	SetClock func(time.Time) error
	// Sync readies the guest to be saved: it flushes the filesystems (and
	// in a real guest opens what clones reuse); nil skips it.
	Sync func()
	// Hostname is the guest's name as the agent reports it; nil means
	// this machine's.
	Hostname func() string
	// Command, when set, decides what an exec or session-start request
	// runs: the command it returns, or its error as the request's
	// failure. Tests use it to keep the host's commands off the machine
	// the test runs on.
	Command func(agentproto.ExecSpec) (agentproto.ExecSpec, error)
	// PollInterval is how often wait-ready rechecks readiness and how
	// long the serial server pauses while no host is connected.
	PollInterval time.Duration

	// SessionDir is where sessions' log files go; "" keeps no files.
	SessionDir string
	// SessionRing is how many bytes of each session's latest output the
	// agent keeps in memory for session-logs.
	SessionRing int
	// SessionLogMax is the size at which a session's log file is moved
	// to NAME.log.1 and started again.
	SessionLogMax int64
	// KeepBuffer is how many bytes of each output stream of a kept
	// process (ExecSpec.Keep) wait while no host is attached; 0 means
	// 1 MiB.
	KeepBuffer int

	// Home is root's home, where the file ops' relative paths and "~"
	// lead; "" means /root.
	Home string

	Logger *slog.Logger
}

// DefaultOptions are a guest's real paths and channels.
func DefaultOptions() Options {
	return Options{
		SerialPath:     "/dev/virtio-ports/" + agentproto.SerialPortName,
		SerialName:     agentproto.SerialPortName,
		SysVirtioPorts: "/sys/class/virtio-ports",
		DevDir:         "/dev",
		DeviceWait:     5 * time.Second,
		VsockPort:      agentproto.VsockPort,
		SSHDPath:       "/usr/sbin/sshd",
		HostKeyDir:     "/etc/ssh",
		SSHAddr:        "127.0.0.1:22",
		ProcDir:        "/proc",
		Filesystems:    []string{"/", "/root"},
		Poweroff:       poweroff,
		Identify:       identifyGuest,
		SetClock:       setGuestClock,
		Sync:           prepareGuestSnapshot,
		PollInterval:   100 * time.Millisecond,
		SessionDir:     "/root/.cache/banger/sessions",
		SessionRing:    1 << 20,
		SessionLogMax:  16 << 20,
		Logger:         slog.Default(),
	}
}

// withDefaults fills the fields a server cannot do without.
func (o Options) withDefaults() Options {
	if o.PollInterval <= 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == nil {
		o.Hostname = hostname
	}
	if o.Addresses == nil {
		o.Addresses = interfaceAddresses
	}
	if o.ProcDir == "" {
		o.ProcDir = "/proc"
	}
	if o.Home == "" {
		o.Home = "/root"
	}
	if o.SessionRing <= 0 {
		o.SessionRing = 1 << 20
	}
	if o.KeepBuffer <= 0 {
		o.KeepBuffer = 1 << 20
	}
	return o
}
