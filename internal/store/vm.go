package store

import (
	"context"
	"time"
)

// VM is the record of one sandbox.
type VM struct {
	Name      string // unique, a DNS label
	State     string // "created", "running", "stopped", ...
	Image     string
	Kernel    string
	VMM       string // "qemu" or "firecracker"
	VCPU      int
	MemoryMiB int
	DiskBytes int64
	IP        string // guest address while running; "" otherwise
	VID       string // short stable id, unique: names the run dir and tap
	Accel     string // "kvm" or "tcg"
	RootMode  string // "clone" or "overlay", see internal/vmdisk
	Tap       string // host tap while running
	MAC       string
	Network   string // network policy, canonical form: "internet", "none", "open" or "allow=..."
	LastError string // why the last start failed, "" if it did not
	// Workspace is the repository copied in at create; zero for none.
	Workspace Workspace
	// Ports are the host ports forwarded to the guest.
	Ports []Port
	// Labels are the VM's KEY=VALUE labels (see internal/label); nil for
	// none.
	Labels map[string]string
	// ExpiresAt is when the VM is deleted on its own; zero for never.
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Workspace is a repository copied into a VM, as resolved when it was
// made (see internal/workspace.Source).
type Workspace struct {
	Top    string // the work tree's top directory on the host; "" for none
	Name   string // the copy's directory under /root
	Sub    string // the directory given, below Top; "" at the top
	From   string // the commit, tag or branch asked for; "" for the working tree
	Commit string // From as a commit id
	Branch string // the new branch the copy is on; "" for none
}

var vms = table[VM]{
	noun:  "vm",
	title: "VM",
	name:  "vms",
	fixed: []string{"name", "created_at"},
	columns: func(v *VM) []column {
		return []column{
			{"name", &v.Name},
			{"state", &v.State},
			{"image", &v.Image},
			{"kernel", &v.Kernel},
			{"vmm", &v.VMM},
			{"vcpu", &v.VCPU},
			{"memory_mib", &v.MemoryMiB},
			{"disk_bytes", &v.DiskBytes},
			{"ip", &v.IP},
			{"vid", &v.VID},
			{"accel", &v.Accel},
			{"root_mode", &v.RootMode},
			{"tap", &v.Tap},
			{"mac", &v.MAC},
			{"network", &v.Network},
			{"last_error", &v.LastError},
			{"workspace_top", &v.Workspace.Top},
			{"workspace_name", &v.Workspace.Name},
			{"workspace_sub", &v.Workspace.Sub},
			{"workspace_from", &v.Workspace.From},
			{"workspace_commit", &v.Workspace.Commit},
			{"workspace_branch", &v.Workspace.Branch},
			{"ports", (*portList)(&v.Ports)},
			{"labels", (*labelMap)(&v.Labels)},
			{"expires_at", (*optionalTime)(&v.ExpiresAt)},
			{"created_at", (*unixNano)(&v.CreatedAt)},
			{"updated_at", (*unixNano)(&v.UpdatedAt)},
		}
	},
}

// CreateVM records a new VM. Zero CreatedAt and UpdatedAt are set to now.
func (s *Store) CreateVM(ctx context.Context, v VM) error {
	now := s.now()
	if v.CreatedAt.IsZero() {
		v.CreatedAt = now
	}
	if v.UpdatedAt.IsZero() {
		v.UpdatedAt = now
	}
	return vms.insert(ctx, s.db, v.Name, v)
}

// GetVM returns the VM called name.
func (s *Store) GetVM(ctx context.Context, name string) (VM, error) {
	return vms.get(ctx, s.db, name)
}

// ListVMs returns every VM, ordered by name.
func (s *Store) ListVMs(ctx context.Context) ([]VM, error) {
	return vms.list(ctx, s.db)
}

// UpdateVM overwrites the VM called v.Name with v and sets its UpdatedAt to
// now. CreatedAt is never changed.
func (s *Store) UpdateVM(ctx context.Context, v VM) error {
	v.UpdatedAt = s.now()
	return vms.update(ctx, s.db, v.Name, v)
}

// DeleteVM removes the VM called name.
func (s *Store) DeleteVM(ctx context.Context, name string) error {
	return vms.remove(ctx, s.db, name)
}
