package agent

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// bigContent is more than a channel's credit several times over.
func bigContent() []byte {
	b := make([]byte, 4*agentproto.InitialCredit+123)
	rand.Read(b)
	return b
}

func TestFSReadStreamsABigFile(t *testing.T) {
	m, home := fsHost(t)
	want := bigContent()
	writeFile(t, filepath.Join(home, "big"), string(want))
	os.Symlink("big", filepath.Join(home, "link"))
	for _, p := range []string{"big", "~/link"} {
		r, fi, err := m.ReadFile(testCtx(t), p)
		if err != nil {
			t.Fatalf("ReadFile %s: %v", p, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, want) || fi.Size != int64(len(want)) || fi.Type != agentproto.TypeFile {
			t.Errorf("ReadFile %s: %d bytes, %v, info %+v; want the %d written", p, len(got), err, fi, len(want))
		}
	}
}

func TestFSReadRefusesWhatIsNoFile(t *testing.T) {
	m, home := fsHost(t)
	os.Mkdir(filepath.Join(home, "dir"), 0o755)
	_, _, err := m.ReadFile(testCtx(t), "dir")
	wantKind(t, "ReadFile of a directory", err, errdefs.KindInvalidArgument, "is a directory")
	_, _, err = m.ReadFile(testCtx(t), "missing")
	wantKind(t, "ReadFile of a missing file", err, errdefs.KindNotFound, "missing")
}

func TestFSReadClosedEarlyLeavesTheAgentWorking(t *testing.T) {
	m, home := fsHost(t)
	writeFile(t, filepath.Join(home, "big"), string(bigContent()))
	r, _, err := m.ReadFile(testCtx(t), "big")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := m.Stat(testCtx(t), "big"); err != nil {
		t.Fatalf("after an abandoned read: %v", err)
	}
}

func TestFSWriteMakesParentsAndAFileOf0644(t *testing.T) {
	m, home := fsHost(t)
	want := bigContent()
	fi, err := m.WriteFile(testCtx(t), "a/b/big", bytes.NewReader(want))
	path := filepath.Join(home, "a", "b", "big")
	if err != nil || fi.Path != path || fi.Size != int64(len(want)) || fi.Permissions != "-rw-r--r--" {
		t.Fatalf("WriteFile = %+v, %v", fi, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("the file holds %d bytes; want the %d written", len(got), len(want))
	}
	checkNoTemp(t, filepath.Dir(path))
}

func TestFSWriteKeepsAReplacedFilesMode(t *testing.T) {
	m, home := fsHost(t)
	path := filepath.Join(home, "script")
	writeFile(t, path, "old")
	os.Chmod(path, 0o750)
	os.Symlink("script", filepath.Join(home, "link"))
	if _, err := m.WriteFile(testCtx(t), "link", bytes.NewReader([]byte("new"))); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(got) != "new" || st.Mode() != 0o750 {
		t.Errorf("script holds %q with mode %v; want \"new\" written through the link, mode 0750", got, st.Mode())
	}
	if l, _ := os.Readlink(filepath.Join(home, "link")); l != "script" {
		t.Errorf("the link was replaced")
	}
}

func TestFSWriteRefusals(t *testing.T) {
	m, home := fsHost(t)
	writeFile(t, filepath.Join(home, "file"), "x")
	os.Mkdir(filepath.Join(home, "dir"), 0o755)
	_, err := m.WriteFile(testCtx(t), "dir", bytes.NewReader(nil))
	wantKind(t, "WriteFile onto a directory", err, errdefs.KindInvalidArgument, "is a directory")
	_, err = m.WriteFile(testCtx(t), "file/below", bytes.NewReader(nil))
	wantKind(t, "WriteFile below a file", err, errdefs.KindInvalidArgument, "not a directory")
}

// failingReader gives some bytes, then fails.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("the source broke")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestFSWriteOfABrokenInputLeavesTheFileAlone(t *testing.T) {
	m, home := fsHost(t)
	path := filepath.Join(home, "kept")
	writeFile(t, path, "old")
	_, err := m.WriteFile(testCtx(t), "kept", &failingReader{n: agentproto.InitialCredit + 5})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("the source broke")) {
		t.Fatalf("WriteFile of a failing reader = %v; want its error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("kept holds %q; want it untouched", got)
	}
	// The guest drops its temporary file once it hears the write is over.
	deadline := time.Now().Add(10 * time.Second)
	for len(tempFiles(home)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	checkNoTemp(t, home)
}

func tempFiles(dir string) []string {
	left, _ := filepath.Glob(filepath.Join(dir, ".*.banger-*"))
	return left
}

func checkNoTemp(t *testing.T, dir string) {
	t.Helper()
	if left := tempFiles(dir); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

func TestFSWriteWithAttrsSetsModeAndTime(t *testing.T) {
	m, home := fsHost(t)
	if !m.Has(agentproto.FeatureWriteAttrs) {
		t.Fatalf("the agent granted %v; want %s too", m.Hello().Features, agentproto.FeatureWriteAttrs)
	}
	path := filepath.Join(home, "run.sh")
	writeFile(t, path, "old")
	os.Chmod(path, 0o600) // replaced: the request's mode wins
	mtime := time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)
	a := agentclient.FileAttrs{Mode: 0o750 | fs.ModeSetgid, Modified: mtime}
	fi, err := m.WriteFileAttrs(testCtx(t), "run.sh", strings.NewReader("#!/bin/sh\n"), a)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode() != 0o750|fs.ModeSetgid || !st.ModTime().Equal(mtime) || fi.Mode != uint32(st.Mode()) {
		t.Errorf("run.sh has mode %v, time %v (answered %+v); want %v, %v", st.Mode(), st.ModTime(), fi, a.Mode, mtime)
	}
	checkNoTemp(t, home)
}
