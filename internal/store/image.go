package store

import (
	"context"
	"time"
)

// Image is the record of a root filesystem VMs boot from.
type Image struct {
	Name       string // unique
	Source     string // "catalog:debian-bookworm", "oci://...", "bundle:...", "register"
	RootfsPath string
	Kernel     string // the default kernel's name; may be ""
	SizeBytes  int64
	Digest     string // recipe hash or manifest digest; may be ""
	CreatedAt  time.Time
}

var images = table[Image]{
	noun: "image",
	name: "images",
	columns: func(im *Image) []column {
		return []column{
			{"name", &im.Name},
			{"source", &im.Source},
			{"rootfs_path", &im.RootfsPath},
			{"kernel", &im.Kernel},
			{"size_bytes", &im.SizeBytes},
			{"digest", &im.Digest},
			{"created_at", (*unixNano)(&im.CreatedAt)},
		}
	},
}

// CreateImage records a new image. A zero CreatedAt is set to now.
func (s *Store) CreateImage(ctx context.Context, im Image) error {
	if im.CreatedAt.IsZero() {
		im.CreatedAt = s.now()
	}
	return images.insert(ctx, s.db, im.Name, im)
}

// GetImage returns the image called name.
func (s *Store) GetImage(ctx context.Context, name string) (Image, error) {
	return images.get(ctx, s.db, name)
}

// ListImages returns every image, ordered by name.
func (s *Store) ListImages(ctx context.Context) ([]Image, error) {
	return images.list(ctx, s.db)
}

// DeleteImage removes the image called name. VMs made from it keep its name.
func (s *Store) DeleteImage(ctx context.Context, name string) error {
	return images.remove(ctx, s.db, name)
}
