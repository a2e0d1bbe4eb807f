package cli

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/tarcopy"
)

// A copy of one regular file goes through the guest agent's file
// operations (the ones E2B's /files uses), placed by the same rules as a
// tar stream. Whatever else, or whatever the guest's answers leave
// unclear (a symbolic link on the way, an agent from before the file
// operations or their mode, an error), goes as a tar stream, which
// decides, and words the errors, as it always did.

// modeBits are the mode bits a copy keeps.
const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// plainPath says whether p names a file as it is: no trailing / or /.,
// which a tar stream reads its own way.
func plainPath(p string) bool {
	return !strings.HasSuffix(p, "/") && !strings.HasSuffix(p, "/.")
}

// fileInTarget is the guest path a copy-in of the regular file name to
// dest writes, or "" when the copy should go as a tar stream.
func fileInTarget(ctx context.Context, files client.Files, dest, name string) string {
	g, err := files.Client.GuestInfo(ctx, files.VM)
	if err != nil || !slices.Contains(g.Features, api.FeatureWriteAttrs) {
		return ""
	}
	f, err := files.Stat(ctx, dest)
	switch {
	case err == nil && f.Type == api.FileDir:
		target := path.Join(dest, name)
		if t, err := files.Stat(ctx, target); errors.Is(err, errdefs.ErrNotFound) || err == nil && t.Type == api.FileRegular {
			return target
		}
	case err == nil && f.Type == api.FileRegular && plainPath(dest):
		return dest
	case errors.Is(err, errdefs.ErrNotFound) && plainPath(dest):
		if p, err := files.Stat(ctx, path.Dir(dest)); err == nil && p.Type == api.FileDir {
			return dest
		}
	}
	return ""
}

// fileIn writes the regular host file src, of info fi, to the guest path
// target, with its mode and time.
func fileIn(ctx context.Context, files client.Files, opts VMCpOptions, target string, fi fs.FileInfo) error {
	f, err := os.Open(opts.HostPath)
	if err != nil {
		return err
	}
	defer f.Close()
	prog := newCopyProgress(opts.Stderr, fi.Size)
	defer prog.finish()
	mode, mtime := uint32(fi.Mode()&modeBits), fi.ModTime()
	req := api.WriteFileRequest{Path: target, Mode: &mode, Modified: &mtime}
	_, err = files.Write(ctx, req, io.TeeReader(f, prog.writer(io.Discard)))
	return err
}

// guestFileSource says whether the guest path src is a regular file, to
// be copied out with the file operations.
func guestFileSource(ctx context.Context, files client.Files, src string) bool {
	if !plainPath(src) {
		return false
	}
	f, err := files.Stat(ctx, src)
	return err == nil && f.Type == api.FileRegular
}

// fileOut reads the guest's regular file and places it on the host as a
// tar stream of it would be, under the same checks and limits.
func fileOut(ctx context.Context, files client.Files, opts VMCpOptions, lim tarcopy.Limits) error {
	r, info, err := files.Read(ctx, opts.GuestPath)
	if err != nil {
		return err
	}
	defer r.Close()
	prog := newCopyProgress(opts.Stderr, func() int64 { return info.Size })
	defer prog.finish()
	f := tarcopy.File{Name: path.Base(path.Clean(opts.GuestPath)), Size: info.Size, Mode: fs.FileMode(info.Mode), ModTime: info.Modified}
	_, err = tarcopy.ExtractFile(io.TeeReader(r, prog.writer(io.Discard)), opts.HostPath, f, tarcopy.Options{Limits: lim, Where: "on the host"})
	return err
}
