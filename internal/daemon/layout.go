package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"banger/internal/errdefs"
	"banger/internal/image"
	"banger/internal/privilege"
)

// Where the daemon keeps resources under the state and cache dirs.
func (s *server) kernelDir(name string) string { return filepath.Join(s.dirs.State, "kernels", name) }
func (s *server) imageDir(name string) string  { return filepath.Join(s.dirs.State, "images", name) }
func (s *server) buildCache() string           { return filepath.Join(s.dirs.Cache, "builds") }
func (s *server) debCache() string             { return filepath.Join(s.dirs.Cache, "debs") }
func (s *server) downloadCache() string        { return filepath.Join(s.dirs.Cache, "downloads") }
func (s *server) ociCache() string             { return filepath.Join(s.dirs.Cache, "oci") }

// scratch makes a private work dir under the state dir (same filesystem as
// the final places, so results can be renamed into them).
func (s *server) scratch(prefix string) (string, func(), error) {
	base := filepath.Join(s.dirs.State, "tmp")
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", nil, fmt.Errorf("creating work dir: %w", err)
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", nil, fmt.Errorf("creating work dir: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// usersOf lists the VMs (and, for kernels, images) that use a resource, so
// removing it can be refused with their names.
func (s *server) usersOf(ctx context.Context, image, kernel string) ([]string, error) {
	vms, err := s.store.ListVMs(ctx)
	if err != nil {
		return nil, err
	}
	users := []string{}
	for _, v := range vms {
		if (image != "" && v.Image == image) || (kernel != "" && v.Kernel == kernel) {
			users = append(users, "vm "+v.Name)
		}
	}
	users = append(users, s.snapshotUsers(image, kernel)...)
	if kernel == "" {
		return users, nil
	}
	images, err := s.store.ListImages(ctx)
	if err != nil {
		return nil, err
	}
	for _, im := range images {
		if im.Kernel == kernel {
			users = append(users, "image "+im.Name)
		}
	}
	return users, nil
}

// mustNotExist refuses to overwrite a resource directory left behind.
func mustNotExist(path string) error {
	if _, err := os.Stat(path); err == nil {
		return errdefs.FailedPrecondition("%s already exists but is not registered: remove it and try again", path)
	}
	return nil
}

// sweepScratch removes work dirs that a crashed daemon left behind. It
// runs before the API is served, when no build can be using them. A dir
// with something still mounted inside (debootstrap's /proc and /sys of a
// killed image build) is unmounted first, never removed through a mount.
func (s *server) sweepScratch(ctx context.Context) {
	base := filepath.Join(s.dirs.State, "tmp")
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		s.log.Warn("reading mounts; leaving stale scratch dirs", "err", err)
		return
	}
	for _, e := range entries {
		dir := filepath.Join(base, e.Name())
		if mounts := image.MountsUnder(string(mountinfo), dir); len(mounts) > 0 {
			s.log.Info("unmounting what a stopped build left mounted", "dir", dir, "mounts", mounts)
			if err := image.RemoveTree(ctx, privilege.Host{}, dir); err != nil {
				s.log.Warn("removing a stale scratch dir", "dir", dir, "err", err)
			}
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			s.log.Warn("removing a stale scratch dir", "dir", dir, "err", err)
		}
	}
}
