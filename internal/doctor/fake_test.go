package doctor

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// fakeHost is a Host whose answers are set by each test.
type fakeHost struct {
	paths   map[string]string // LookPath: name -> path
	files   map[string]fs.FileMode
	openErr error
	modules map[string]bool
	outputs map[string]string // Output: command path -> output
	outErr  error
	euid    int
	free    uint64
	freeErr error
	freeAt  string // last path FreeBytes was asked about
	sudo    bool
	unsafe  error // SudoSafe's answer
}

var _ Host = (*fakeHost)(nil)

// goodHost is a hardware-KVM host with every tool, root, and plenty of disk.
func goodHost() *fakeHost {
	return &fakeHost{
		paths: map[string]string{
			"firecracker": "/usr/bin/firecracker", qemuBinary: "/usr/bin/" + qemuBinary,
			"debootstrap": "/usr/sbin/debootstrap", "mkfs.ext4": "/sbin/mkfs.ext4",
			"ssh": "/usr/bin/ssh",
		},
		files:   map[string]fs.FileMode{kvmDevice: fs.ModeDevice | 0o660, tunDevice: fs.ModeDevice | fs.ModeCharDevice | 0o666, "/var/lib": fs.ModeDir | 0o755, archiveKeyring: 0o644},
		modules: map[string]bool{"kvm_intel": true},
		outputs: map[string]string{
			"/usr/bin/firecracker":   "Firecracker v1.8.0\n\nmore\n",
			"/usr/bin/" + qemuBinary: "QEMU emulator version 7.2.19\nCopyright\n",
		},
		free: 50 * gib,
	}
}

func (h *fakeHost) LookPath(name string) (string, error) {
	if p, ok := h.paths[name]; ok {
		return p, nil
	}
	return "", errors.New("not found")
}

func (h *fakeHost) Stat(path string) (fs.FileInfo, error) {
	if m, ok := h.files[path]; ok {
		return fakeInfo{name: path, mode: m}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: path, Err: fs.ErrNotExist}
}

func (h *fakeHost) OpenRW(string) error                   { return h.openErr }
func (h *fakeHost) HasModule(name string) bool            { return h.modules[name] }
func (h *fakeHost) Geteuid() int                          { return h.euid }
func (h *fakeHost) PasswordlessSudo(context.Context) bool { return h.sudo }
func (h *fakeHost) SudoSafe(string) error                 { return h.unsafe }

func (h *fakeHost) Output(_ context.Context, name string, _ ...string) (string, error) {
	if h.outErr != nil {
		return "", h.outErr
	}
	return h.outputs[name], nil
}

func (h *fakeHost) FreeBytes(path string) (uint64, error) {
	h.freeAt = path
	return h.free, h.freeErr
}

type fakeInfo struct {
	name string
	mode fs.FileMode
}

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return 0 }
func (i fakeInfo) Mode() fs.FileMode  { return i.mode }
func (i fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fakeInfo) Sys() any           { return nil }

// expect fails the test unless r has the wanted status and its summary
// contains want.
func expect(t *testing.T, r Result, status Status, want string) {
	t.Helper()
	if r.Status != status || !strings.Contains(r.Summary, want) {
		t.Fatalf("%s: got %v %q, want %v containing %q", r.Name, r.Status, r.Summary, status, want)
	}
	if status != Pass && r.Fix == "" {
		t.Fatalf("%s: %v result has no fix", r.Name, status)
	}
}
