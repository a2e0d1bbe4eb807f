package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/errdefs"
	"banger/internal/tarcopy"
)

func copyCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCopyBothWaysThroughTheDaemon(t *testing.T) {
	c, _ := execDaemon(t)
	src := filepath.Join(t.TempDir(), "tree")
	big := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // past every window
	if err := os.MkdirAll(filepath.Join(src, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "d", "big"), big, 0o640)
	os.Symlink("d/big", filepath.Join(src, "link"))

	// In: the "guest" is this machine, so its path is a temp dir.
	guest := t.TempDir()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarcopy.Write(pw, tarcopy.Source{Path: src})) }()
	if err := c.CopyIn(copyCtx(t), "box", guest, pr); err != nil {
		t.Fatalf("CopyIn: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(guest, "tree", "d", "big")); !bytes.Equal(got, big) {
		t.Fatalf("the guest got %d bytes of d/big, want %d", len(got), len(big))
	}

	// Out: what comes back extracts to the same tree.
	var out bytes.Buffer
	if err := c.CopyOut(copyCtx(t), "box", filepath.Join(guest, "tree"), &out); err != nil {
		t.Fatalf("CopyOut: %v", err)
	}
	back := filepath.Join(t.TempDir(), "back")
	opts := tarcopy.Options{Limits: tarcopy.Limits{MaxBytes: 1 << 30, MaxEntries: 10}}
	if _, err := tarcopy.Extract(&out, back, opts); err != nil {
		t.Fatalf("extracting copy-out: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(back, "d", "big")); !bytes.Equal(got, big) {
		t.Errorf("the round trip gave %d bytes of d/big, want %d", len(got), len(big))
	}
	if fi, err := os.Stat(filepath.Join(back, "d", "big")); err != nil || fi.Mode() != 0o640 {
		t.Errorf("d/big: %v, %v; want mode 0640", fi, err)
	}
	if l, _ := os.Readlink(filepath.Join(back, "link")); l != "d/big" {
		t.Errorf("link = %q, want a link to d/big", l)
	}
}

func TestCopyErrorsThroughTheDaemon(t *testing.T) {
	c, _ := execDaemon(t)
	guest := t.TempDir()
	missing := filepath.Join(guest, "nope")
	err := c.CopyOut(copyCtx(t), "box", missing, io.Discard)
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), missing) {
		t.Errorf("copy-out of a missing path: %v; want not found, naming it", err)
	}
	if err := c.CopyOut(copyCtx(t), "nosuch", "/etc/hosts", io.Discard); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("copy-out from a missing VM: %v; want not found", err)
	}
	if err := c.CopyOut(copyCtx(t), "box", "etc/hosts", io.Discard); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("copy-out of a relative path: %v; want invalid argument", err)
	}
	// A directory onto a file fails in the guest, after the stream began.
	file := filepath.Join(guest, "file")
	os.WriteFile(file, nil, 0o644)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarcopy.Write(pw, tarcopy.Source{Path: t.TempDir()})) }()
	err = c.CopyIn(copyCtx(t), "box", file, pr)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "in VM box: cannot copy a directory onto the file") {
		t.Errorf("a directory onto a file: %v", err)
	}
	// A source that fails to read stops the copy with its own error.
	broken := io.MultiReader(strings.NewReader("not a tar"), errReader{})
	if err := c.CopyIn(copyCtx(t), "box", filepath.Join(guest, "x"), broken); !errors.Is(err, errBroken) {
		t.Errorf("a broken source: %v; want its error", err)
	}
}

var errBroken = errors.New("broken source")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }
