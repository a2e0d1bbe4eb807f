package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/tarcopy"
)

// fileGuest is a stand-in bangerd whose VM box holds files, answers the
// file routes and records what reaches the tar routes.
type fileGuest struct {
	features []string
	files    map[string]api.GuestFile
	content  map[string]string

	mu      sync.Mutex
	written map[string]api.WriteFileRequest
	got     map[string]string
	tar     []string // the tar routes called
}

func newFileGuest(t *testing.T, features ...string) *fileGuest {
	g := &fileGuest{
		features: features, files: map[string]api.GuestFile{"/root": {Path: "/root", Type: api.FileDir}},
		content: map[string]string{}, written: map[string]api.WriteFileRequest{}, got: map[string]string{},
	}
	serveStandIn(t, g)
	return g
}

func (g *fileGuest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, api.Prefix+"/vms/box") {
	case "/guest":
		standInJSON(w, http.StatusOK, api.GuestInfo{Exec: true, Features: g.features})
	case "/files/stat":
		if f, ok := g.files[path.Clean(r.URL.Query().Get("path"))]; ok {
			standInJSON(w, http.StatusOK, f)
			return
		}
		standInJSON(w, http.StatusNotFound, api.ErrorResponse{Error: api.ErrorFrom(errdefs.NotFound("no such file"))})
	case "/files/read":
		g.read(w, r)
	case "/files/write":
		g.write(w, r)
	default:
		g.mu.Lock()
		g.tar = append(g.tar, r.URL.Path)
		g.mu.Unlock()
		conn, fw, ok := upgradeStandIn(w)
		if !ok {
			return
		}
		if strings.HasSuffix(r.URL.Path, "/copy-out") { // a link, as a guest sends one
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			tw.WriteHeader(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "run.sh"})
			tw.Close()
			fw.Write(api.FrameStdout, b.Bytes())
		}
		fw.Write(api.FrameExit, exitFrame(0)[1])
		conn.Close()
	}
}

func standInJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (g *fileGuest) read(w http.ResponseWriter, r *http.Request) {
	var req api.FileRequest
	json.NewDecoder(r.Body).Decode(&req)
	conn, fw, ok := upgradeStandIn(w)
	if !ok {
		return
	}
	defer conn.Close()
	b, _ := json.Marshal(g.files[req.Path])
	fw.Write(api.FrameFile, b)
	fw.Write(api.FrameStdout, []byte(g.content[req.Path]))
	fw.Write(api.FrameExit, exitFrame(0)[1])
}

func (g *fileGuest) write(w http.ResponseWriter, r *http.Request) {
	var req api.WriteFileRequest
	json.NewDecoder(r.Body).Decode(&req)
	conn, fw, ok := upgradeStandIn(w)
	if !ok {
		return
	}
	defer conn.Close()
	var in bytes.Buffer
	for {
		kind, p, err := api.ReadFrame(conn)
		if err != nil || kind == api.FrameStdinEOF {
			break
		}
		in.Write(p)
	}
	g.mu.Lock()
	g.written[req.Path], g.got[req.Path] = req, in.String()
	g.mu.Unlock()
	b, _ := json.Marshal(api.GuestFile{Path: req.Path, Type: api.FileRegular})
	fw.Write(api.FrameFile, b)
	fw.Write(api.FrameExit, exitFrame(0)[1])
}

func vmCp(src, dst string) error {
	return Run(context.Background(), []string{"vm", "cp", src, dst}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
}

// script writes an executable file with an old time.
func script(t *testing.T) (string, time.Time) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "run.sh")
	os.WriteFile(p, []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.Chmod(p, 0o755) // past the umask
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(p, mtime, mtime)
	return p, mtime
}

func TestCopyInOfAFileWritesItWithItsModeAndTime(t *testing.T) {
	hermetic(t)
	g := newFileGuest(t, api.FeatureWriteAttrs)
	g.files["/root/link"] = api.GuestFile{Path: "/root/link", Type: api.FileSymlink}
	src, mtime := script(t)
	for dest, target := range map[string]string{"box:/root/": "/root/run.sh", "box:new.sh": "/root/new.sh", "box:/root": "/root/run.sh"} {
		if err := vmCp(src, dest); err != nil {
			t.Fatalf("vm cp run.sh %s: %v", dest, err)
		}
		req, ok := g.written[target]
		if !ok || req.Mode == nil || fs.FileMode(*req.Mode) != 0o755 || req.Modified == nil || !req.Modified.Equal(mtime) || g.got[target] != "#!/bin/sh\necho hi\n" {
			t.Errorf("vm cp run.sh %s wrote %v: %+v, %q; want %s with mode 0755, its time and bytes", dest, g.written, req, g.got[target], target)
		}
	}
	// What the file operations do not decide goes as a tar stream.
	for _, dest := range []string{"box:/root/link", "box:/nosuch/x", "box:/root/new/"} {
		if err := vmCp(src, dest); err != nil {
			t.Fatalf("vm cp run.sh %s: %v", dest, err)
		}
	}
	if len(g.tar) != 3 || len(g.written) != 2 {
		t.Errorf("tar routes %v, writes %v; want 3 tar copies for a link, a missing parent and a missing DIR/", g.tar, g.written)
	}
}

func TestCopyInFallsBackToTarForAnAgentWithoutModes(t *testing.T) {
	hermetic(t)
	g := newFileGuest(t) // an agent from before fs-write's mode
	src, _ := script(t)
	if err := vmCp(src, "box:/root/"); err != nil {
		t.Fatal(err)
	}
	if len(g.written) != 0 || len(g.tar) != 1 || !strings.HasSuffix(g.tar[0], "/copy-in") {
		t.Errorf("wrote %v, tar routes %v; want one copy-in as a tar stream", g.written, g.tar)
	}
}

func TestCopyOutOfAFilePlacesItAsTarWould(t *testing.T) {
	hermetic(t)
	g := newFileGuest(t)
	mtime := time.Date(2019, 8, 7, 6, 5, 4, 0, time.UTC)
	g.files["/root/run.sh"] = api.GuestFile{Path: "/root/run.sh", Type: api.FileRegular, Size: 3, Mode: uint32(0o755 | fs.ModeSetuid), Modified: mtime}
	g.content["/root/run.sh"] = "hi\n"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "run.sh"), []byte("old"), 0o600)
	if err := vmCp("box:run.sh", dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "run.sh")
	b, _ := os.ReadFile(p)
	fi, err := os.Stat(p)
	if err != nil || string(b) != "hi\n" || fi.Mode() != 0o755 || !fi.ModTime().Equal(mtime) {
		t.Errorf("DIR/run.sh = %q, %v, %v; want the guest's bytes, mode 0755 without setuid, its time", b, fi, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 || len(g.tar) != 0 {
		t.Errorf("left %d entries, tar routes %v; want the file alone, by the file routes", len(ents), g.tar)
	}
	// A link in the guest goes as a tar stream, copied as a link.
	g.files["/root/l"] = api.GuestFile{Path: "/root/l", Type: api.FileSymlink}
	err = vmCp("box:/root/l", dir)
	if l, _ := os.Readlink(filepath.Join(dir, "l")); err != nil || l != "run.sh" || len(g.tar) != 1 {
		t.Errorf("vm cp of a link: %v, link to %q, tar routes %v; want a link by one copy-out", err, l, g.tar)
	}
}

func TestCopyOutOfAFileRefusesABomb(t *testing.T) {
	hermetic(t)
	g := newFileGuest(t)
	g.files["/x"] = api.GuestFile{Path: "/x", Type: api.FileRegular, Size: 1 << 60, Mode: 0o644}
	dest := filepath.Join(t.TempDir(), "bomb")
	err := vmCp("box:/x", dest)
	if !errors.Is(err, tarcopy.ErrNoSpace) || !strings.Contains(err.Error(), "the free space on the host") {
		t.Errorf("got %v; want the copy stopped for space", err)
	}
	if _, err := os.Lstat(dest); err == nil {
		t.Error("the bomb left a file")
	}
}
