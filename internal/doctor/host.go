package doctor

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/network/helperbin"
	"banger/internal/paths"
)

// Host is every side effect the checks have on the machine, so that they can
// be tested with a fake.
type Host interface {
	// LookPath finds an executable on PATH, then in the sbin directories
	// that a non-root PATH often lacks.
	LookPath(name string) (string, error)
	Stat(path string) (fs.FileInfo, error)
	// OpenRW opens path read-write and closes it again.
	OpenRW(path string) error
	// HasModule reports whether /sys/module/NAME exists.
	HasModule(name string) bool
	// Output runs a command, bounded by a short timeout, and returns its
	// combined output.
	Output(ctx context.Context, name string, args ...string) (string, error)
	Geteuid() int
	// FreeBytes returns the bytes available to this user on path's filesystem.
	FreeBytes(path string) (uint64, error)
	// PasswordlessSudo reports whether `sudo -n true` succeeds.
	PasswordlessSudo(ctx context.Context) bool
	// SudoSafe says why the binary at path must not be run as root
	// through sudo (see helperbin.Check), or is nil.
	SudoSafe(path string) error
}

// LocalHost is the machine banger runs on.
type LocalHost struct{}

var _ Host = LocalHost{}

// commandTimeout bounds each command a check runs, below CheckTimeout.
const commandTimeout = 3 * time.Second

// LookPath finds a tool as banger's other packages do (paths.LookTool):
// on PATH, then in the sbin directories.
func (LocalHost) LookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return exec.LookPath(name)
	}
	return paths.LookTool(name)
}

func (LocalHost) Stat(path string) (fs.FileInfo, error) { return os.Stat(path) }

func (LocalHost) OpenRW(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

func (LocalHost) HasModule(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/module", name))
	return err == nil
}

func (LocalHost) Output(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return string(out), err
}

func (LocalHost) Geteuid() int { return os.Geteuid() }

func (LocalHost) FreeBytes(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, &fs.PathError{Op: "statfs", Path: path, Err: err}
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func (LocalHost) SudoSafe(path string) error { return helperbin.Check(path) }

func (h LocalHost) PasswordlessSudo(ctx context.Context) bool {
	_, err := h.Output(ctx, "sudo", "-n", "true")
	return err == nil
}
