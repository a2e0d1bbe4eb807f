package vm

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmm"
	"banger/internal/vmm/vmmtest"
)

// The fakes the manager tests put around the manager, beside vmmtest's
// VMM and nettest's network: a library, a VMM whose guests report host
// keys, and a log to read.

// mtLibrary resolves the images and kernels in the harness's store.
type mtLibrary struct {
	h     *mtHarness
	mu    sync.Mutex
	calls int
	fail  error
}

func (l *mtLibrary) Resolve(ctx context.Context, image, kernel string, prog progress.Func) (store.Image, store.Kernel, error) {
	l.mu.Lock()
	l.calls++
	fail := l.fail
	l.mu.Unlock()
	if fail != nil {
		return store.Image{}, store.Kernel{}, fail
	}
	im, err := l.h.store.GetImage(ctx, image)
	if err != nil {
		return store.Image{}, store.Kernel{}, errdefs.NotFound("no image named %s", image)
	}
	if kernel == "" {
		kernel = im.Kernel
	}
	k, err := l.h.store.GetKernel(ctx, kernel)
	if err != nil {
		return store.Image{}, store.Kernel{}, errdefs.NotFound("no kernel named %s", kernel)
	}
	return im, k, nil
}

// mtDriver is the fake VMM, whose guests, when keys is set, report an
// ssh host key as soon as they boot, as a guest whose image has sshd does.
type mtDriver struct {
	*vmmtest.Driver
	tmp  string // where the fake guests keep their files
	mu   sync.Mutex
	keys bool
}

func (d *mtDriver) Start(ctx context.Context, spec vmm.Spec) (vmm.Info, error) {
	info, err := d.Driver.Start(ctx, spec)
	if err == nil {
		d.giveHostKeys()
	}
	return info, err
}

func (d *mtDriver) Restore(ctx context.Context, spec vmm.Spec, path string) (vmm.Info, error) {
	info, err := d.Driver.Restore(ctx, spec, path)
	if err == nil {
		d.giveHostKeys()
	}
	return info, err
}

// setKeys says whether guests booted from now on report host keys.
func (d *mtDriver) setKeys(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys = on
}

// giveHostKeys puts a host key in each fake guest that has none: the
// guest just booted is the only such one.
func (d *mtDriver) giveHostKeys() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.keys {
		return
	}
	dirs, _ := filepath.Glob(filepath.Join(d.tmp, "vmmtest-guest-*"))
	for _, dir := range dirs {
		key := filepath.Join(dir, "ssh", "ssh_host_ed25519_key.pub")
		if _, err := os.Stat(key); err == nil {
			continue
		}
		if os.MkdirAll(filepath.Dir(key), 0o700) == nil {
			os.WriteFile(key, mtHostKey(), 0o600)
		}
	}
}

// mtHostKey is a new ed25519 public key in authorized_keys form.
func mtHostKey() []byte {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return ssh.MarshalAuthorizedKey(k)
}

// mtLog keeps the manager's log lines, for tests of what it warns about.
type mtLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *mtLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *mtLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *mtLog) WithGroup(string) slog.Handler            { return l }
func (l *mtLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, b.String())
	return nil
}

// has reports whether a log line contains s.
func (l *mtLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(line string) bool { return strings.Contains(line, s) })
}
