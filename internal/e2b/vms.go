package e2b

import (
	"context"
	"net/http"
	"time"
)

// VMs is what the E2B API needs of the VM manager. Errors carry errdefs
// kinds: NotFound for an unknown VM, InvalidArgument for a request the
// manager refuses, FailedPrecondition for a VM in the wrong state.
type VMs interface {
	// Create makes a VM and returns once its guest runs commands.
	Create(ctx context.Context, spec CreateSpec) (VM, error)
	Get(ctx context.Context, name string) (VM, error)
	List(ctx context.Context) ([]VM, error)
	// Delete removes a VM, running or not.
	Delete(ctx context.Context, name string) error
	// SetExpiry moves the time the VM is deleted at; zero means never.
	SetExpiry(ctx context.Context, name string, at time.Time) (VM, error)
	// SetNetwork gives the VM another network policy ("internet", "none",
	// "allow=LIST"...), at once.
	SetNetwork(ctx context.Context, name, policy string) (VM, error)
	// Suspend saves a running VM whole, memory and disks, and stops it;
	// Start brings it back as it was. Stop powers it off.
	Suspend(ctx context.Context, name string) (VM, error)
	Start(ctx context.Context, name string) (VM, error)
	Stop(ctx context.Context, name string) (VM, error)
	Stats(ctx context.Context, name string) (Stats, error)
	// Snapshot saves a running VM, which runs on, as snapshot snap;
	// CreateSpec.FromSnapshot makes VMs from it.
	Snapshot(ctx context.Context, name, snap string) error
	DeleteSnapshot(snap string) error
}

// VM is a banger VM as the E2B API sees it.
type VM struct {
	Name      string
	State     string // StateRunning, StateSuspended, or another VM state
	IP        string // the guest's address while it runs
	VCPU      int
	MemoryMiB int
	DiskBytes int64
	Network   string // its network policy, canonical
	Labels    map[string]string
	ExpiresAt time.Time // zero: never
	CreatedAt time.Time
}

// VM states the E2B API tells apart; any other one is not running.
const (
	StateRunning   = "running"
	StateSuspended = "suspended"
	StateStopped   = "stopped"
)

// CreateSpec is a VM to make.
type CreateSpec struct {
	Name string
	// Image is an image name or OCI reference; "" is the default image.
	Image string
	// FromSnapshot restores the VM from a snapshot instead; Image is then
	// empty.
	FromSnapshot string
	Network      string // "" is the config's network_policy
	Labels       map[string]string
	ExpiresAt    time.Time
}

// Stats is a running VM's use of its resources.
type Stats struct {
	// CPUPercent is the VMM's CPU use; 100 is one host core busy.
	CPUPercent float64
	// Guest figures, in bytes; zero when the guest could not say.
	MemUsed, MemTotal   uint64
	DiskUsed, DiskTotal uint64
}

// Envd serves the sandbox-side API (processes, files, health) of the
// sandbox its request's context names; see Options.EnvdContext.
type Envd interface {
	http.Handler
	// Forget drops what it keeps of a sandbox whose VM is gone.
	Forget(vm string)
}

// EnvdSandbox is the sandbox a request to Envd is for.
type EnvdSandbox struct {
	VM          string
	Env         map[string]string // default environment of its commands
	AccessToken string
}
