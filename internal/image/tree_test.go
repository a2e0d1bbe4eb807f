package image

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readTar(t *testing.T, data []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		h.PAXRecords = map[string]string{"body": string(body)}
		out[h.Name] = h
	}
}

func TestWriteTar(t *testing.T) {
	src := filepath.Join(t.TempDir(), "agent")
	os.WriteFile(src, []byte("agent bytes"), 0o600)
	files := []treeFile{
		dir("/root/.ssh", 0o700),
		file("/etc/hostname", 0o644, "banger\n"),
		symlink("/etc/systemd/network/99-default.link", "/dev/null"),
		{Path: agentPath, Mode: 0o755, Src: src},
	}
	var buf bytes.Buffer
	mtime := time.Unix(1700000000, 0)
	if err := writeTar(&buf, files, mtime); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, buf.Bytes())
	for name, want := range map[string]struct {
		typ  byte
		mode int64
		body string
		link string
	}{
		"root/.ssh/":                              {tar.TypeDir, 0o700, "", ""},
		"etc/hostname":                            {tar.TypeReg, 0o644, "banger\n", ""},
		"etc/systemd/network/99-default.link":     {tar.TypeSymlink, 0o777, "", "/dev/null"},
		"usr/local/lib/banger/banger-vsock-agent": {tar.TypeReg, 0o755, "agent bytes", ""},
	} {
		h := got[name]
		if h == nil {
			t.Errorf("%s missing from the tar; have %v", name, got)
			continue
		}
		if h.Typeflag != want.typ || h.Mode != want.mode || h.PAXRecords["body"] != want.body || h.Linkname != want.link {
			t.Errorf("%s = type %c mode %o body %q link %q", name, h.Typeflag, h.Mode, h.PAXRecords["body"], h.Linkname)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(mtime) {
			t.Errorf("%s owned by %d:%d, mtime %v", name, h.Uid, h.Gid, h.ModTime)
		}
	}
	if err := writeTar(io.Discard, []treeFile{file("/", 0o755, "")}, mtime); err == nil {
		t.Error("writing the tree's root was allowed")
	}
	if err := writeTar(io.Discard, []treeFile{{Path: "/x", Mode: 0o644, Src: filepath.Join(t.TempDir(), "missing")}}, mtime); err == nil {
		t.Error("a missing source file was not an error")
	}
}

func TestModulesFiles(t *testing.T) {
	mods := filepath.Join(t.TempDir(), "6.1.0-9-cloud-amd64")
	os.MkdirAll(filepath.Join(mods, "kernel", "drivers"), 0o755)
	os.WriteFile(filepath.Join(mods, "modules.dep"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(mods, "kernel", "drivers", "virtio_blk.ko"), []byte("ko"), 0o644)
	os.Symlink("/usr/src/linux-headers", filepath.Join(mods, "build"))
	files, err := modulesFiles(mods)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]treeFile{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	const root = "/lib/modules/6.1.0-9-cloud-amd64"
	if f := byPath[root]; !f.Mode.IsDir() {
		t.Errorf("%s is not a directory: %+v", root, f)
	}
	if f := byPath[root+"/kernel/drivers/virtio_blk.ko"]; f.Src != filepath.Join(mods, "kernel", "drivers", "virtio_blk.ko") || f.Mode != 0o644 {
		t.Errorf("module = %+v", f)
	}
	if f := byPath[root+"/build"]; f.Mode&fs.ModeSymlink == 0 || f.Link != "/usr/src/linux-headers" {
		t.Errorf("build link = %+v", f)
	}
	if len(files) != 6 {
		t.Errorf("got %d files: %+v", len(files), files)
	}
}
