package store

import (
	"context"
	"time"
)

// Kernel is the record of a guest kernel.
type Kernel struct {
	Name        string // unique
	Version     string
	Path        string // bzImage or vmlinux
	VmlinuxPath string // may be ""
	InitrdPath  string // may be ""
	Source      string
	CreatedAt   time.Time
}

var kernels = table[Kernel]{
	noun: "kernel",
	name: "kernels",
	columns: func(k *Kernel) []column {
		return []column{
			{"name", &k.Name},
			{"version", &k.Version},
			{"path", &k.Path},
			{"vmlinux_path", &k.VmlinuxPath},
			{"initrd_path", &k.InitrdPath},
			{"source", &k.Source},
			{"created_at", (*unixNano)(&k.CreatedAt)},
		}
	},
}

// CreateKernel records a new kernel. A zero CreatedAt is set to now.
func (s *Store) CreateKernel(ctx context.Context, k Kernel) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	return kernels.insert(ctx, s.db, k.Name, k)
}

// GetKernel returns the kernel called name.
func (s *Store) GetKernel(ctx context.Context, name string) (Kernel, error) {
	return kernels.get(ctx, s.db, name)
}

// ListKernels returns every kernel, ordered by name.
func (s *Store) ListKernels(ctx context.Context) ([]Kernel, error) {
	return kernels.list(ctx, s.db)
}

// DeleteKernel removes the kernel called name.
func (s *Store) DeleteKernel(ctx context.Context, name string) error {
	return kernels.remove(ctx, s.db, name)
}
