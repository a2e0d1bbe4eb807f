package library

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"banger/internal/errdefs"
	"banger/internal/image"
	"banger/internal/privilege"
)

// scratch makes a private work dir under the state dir (same filesystem as
// the final places, so results can be renamed into them).
func (l *Library) scratch(prefix string) (string, func(), error) {
	base := l.dirs.ScratchDir()
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", nil, fmt.Errorf("creating work dir: %w", err)
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", nil, fmt.Errorf("creating work dir: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// UsersOf lists the VMs, snapshots and (for kernels) images that use a
// resource, so removing it can be refused with their names.
func (l *Library) UsersOf(ctx context.Context, image, kernel string) ([]string, error) {
	users := []string{}
	if l.users != nil {
		outside, err := l.users(ctx, image, kernel)
		if err != nil {
			return nil, err
		}
		users = append(users, outside...)
	}
	if kernel == "" {
		return users, nil
	}
	images, err := l.store.ListImages(ctx)
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

// SweepScratch removes work dirs that a crashed daemon left behind. It
// runs before the API is served, when no build can be using them. A dir
// with something still mounted inside (debootstrap's /proc and /sys of a
// killed image build) is unmounted first, never removed through a mount.
func (l *Library) SweepScratch(ctx context.Context) {
	base := l.dirs.ScratchDir()
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		l.log.Warn("reading mounts; leaving stale scratch dirs", "err", err)
		return
	}
	for _, e := range entries {
		dir := filepath.Join(base, e.Name())
		if mounts := image.MountsUnder(string(mountinfo), dir); len(mounts) > 0 {
			l.log.Info("unmounting what a stopped build left mounted", "dir", dir, "mounts", mounts)
			if err := image.RemoveTree(ctx, privilege.Host{}, dir); err != nil {
				l.log.Warn("removing a stale scratch dir", "dir", dir, "err", err)
			}
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			l.log.Warn("removing a stale scratch dir", "dir", dir, "err", err)
		}
	}
}
