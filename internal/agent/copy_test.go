package agent

import (
	"bytes"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
	"banger/internal/tarcopy"
)

// copyTree is a tree bigger than a channel's credit, with a link.
func copyTree(t *testing.T) (dir string, big []byte) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "tree")
	big = make([]byte, 3*agentproto.InitialCredit+17)
	rand.Read(big)
	writeFile(t, filepath.Join(dir, "sub", "big"), string(big))
	if err := os.Chmod(filepath.Join(dir, "sub", "big"), 0o751); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/big", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	return dir, big
}

func checkTree(t *testing.T, dir string, big []byte) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dir, "sub", "big"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("sub/big: %d bytes (%v), want the %d sent", len(got), err, len(big))
	}
	if fi, _ := os.Stat(filepath.Join(dir, "sub", "big")); fi.Mode() != 0o751 {
		t.Errorf("sub/big has mode %v, want 0751", fi.Mode())
	}
	if l, err := os.Readlink(filepath.Join(dir, "link")); l != "sub/big" {
		t.Errorf("link: %q, %v; want a link to sub/big", l, err)
	}
}

func TestCopyInExtractsUnderTheGuestPath(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	src, big := copyTree(t)
	dest := filepath.Join(t.TempDir(), "copy")
	ch, err := m.CopyIn(testCtx(t), dest)
	if err != nil {
		t.Fatalf("CopyIn: %v", err)
	}
	go func() {
		tarcopy.Write(ch, tarcopy.Source{Path: src})
		ch.CloseWrite()
	}()
	c := drain(t, ch)
	if c.exit == nil || c.exit.Code != 0 {
		t.Fatalf("copy-in ended %+v, stderr %q", c.exit, c.stderr)
	}
	checkTree(t, dest, big)
}

func TestCopyOutSendsTheGuestPath(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	src, big := copyTree(t)
	ch, err := m.CopyOut(testCtx(t), src)
	if err != nil {
		t.Fatalf("CopyOut: %v", err)
	}
	c := drain(t, ch)
	if c.exit == nil || c.exit.Code != 0 {
		t.Fatalf("copy-out ended %+v, stderr %q", c.exit, c.stderr)
	}
	dest := t.TempDir()
	opts := tarcopy.Options{Limits: tarcopy.Limits{MaxBytes: 1 << 30, MaxEntries: 100}}
	if _, err := tarcopy.Extract(strings.NewReader(c.stdout), dest, opts); err != nil {
		t.Fatalf("extracting what the guest sent: %v", err)
	}
	checkTree(t, filepath.Join(dest, "tree"), big)
}

func TestCopyRefusesMissingPathsBeforeStreaming(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	missing := filepath.Join(t.TempDir(), "no", "such")
	if _, err := m.CopyOut(testCtx(t), missing); errdefs.KindOf(err) != errdefs.KindNotFound || !strings.Contains(err.Error(), missing) {
		t.Errorf("copy-out of a missing path: %v, want not found naming it", err)
	}
	if _, err := m.CopyIn(testCtx(t), missing); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("copy-in under a missing directory: %v, want not found", err)
	}
	if _, err := m.CopyIn(testCtx(t), "relative/path"); errdefs.KindOf(err) != errdefs.KindInvalidArgument {
		t.Errorf("copy-in to a relative path: %v, want invalid argument", err)
	}
}

func TestCopyInOfADirectoryOntoAFileSaysWhy(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	src, _ := copyTree(t)
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, "x")
	ch, err := m.CopyIn(testCtx(t), file)
	if err != nil {
		t.Fatalf("CopyIn: %v", err)
	}
	go func() {
		tarcopy.Write(ch, tarcopy.Source{Path: src})
		ch.CloseWrite()
	}()
	c := drain(t, ch)
	if c.exit == nil || c.exit.Code != agentproto.CopyInvalid || !strings.Contains(c.stderr, "cannot copy a directory onto the file") {
		t.Errorf("got %+v, %q; want status %d and a message", c.exit, c.stderr, agentproto.CopyInvalid)
	}
	if fi, _ := os.Lstat(file); fi.Mode().Type() != 0 || fi.Mode()&fs.ModeDir != 0 {
		t.Errorf("the file was replaced")
	}
}

func TestCopyAbandonedByTheHostEnds(t *testing.T) {
	m, _ := muxHost(t, execOptions(t))
	dest := filepath.Join(t.TempDir(), "copy")
	ch, err := m.CopyIn(testCtx(t), dest)
	if err != nil {
		t.Fatalf("CopyIn: %v", err)
	}
	ch.Write(make([]byte, 100)) // half a header
	ch.Close()
	// The agent still answers: the abandoned copy held nothing up.
	if _, err := m.ListSessions(testCtx(t)); err != nil {
		t.Fatalf("after an abandoned copy: %v", err)
	}
}
