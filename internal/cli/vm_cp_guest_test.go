package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/paths"
	"banger/internal/tarcopy"
	"banger/internal/version"
)

// guestSends serves a stand-in bangerd whose copy-out of VM box answers
// with stream, then the frames in tail (kind, payload), as a hostile or
// failing guest would.
func guestSends(t *testing.T, stream []byte, tail ...[2][]byte) {
	t.Helper()
	serveStandIn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != api.Prefix+"/vms/box/copy-out" {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		conn, fw, ok := upgradeStandIn(w)
		if !ok {
			return
		}
		defer conn.Close()
		for len(stream) > 0 {
			n := min(len(stream), 32<<10)
			if fw.Write(api.FrameStdout, stream[:n]) != nil {
				return
			}
			stream = stream[n:]
		}
		for _, f := range tail {
			fw.Write(api.FrameKind(f[0][0]), f[1])
		}
	}))
}

// serveStandIn serves h as bangerd on the test's socket (XDG dirs set
// by the test) until it ends.
func serveStandIn(t *testing.T, h http.Handler) {
	t.Helper()
	dirs, err := paths.Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dirs.Runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", dirs.Socket())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// upgradeStandIn answers a stream request as bangerd does, with 101, and
// returns the connection and a frame writer on it.
func upgradeStandIn(w http.ResponseWriter) (net.Conn, *api.FrameWriter, bool) {
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return nil, nil, false
	}
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + api.UpgradeProtocol + "\r\n" + api.VersionHeader + ": " + version.Version + "\r\n\r\n")
	brw.Flush()
	return conn, api.NewFrameWriter(conn), true
}

func exitFrame(code int) [2][]byte {
	b, _ := json.Marshal(api.ExitStatus{Code: code})
	return [2][]byte{{byte(api.FrameExit)}, b}
}

// tarOf writes entries; a file entry's body is its link field.
func tarOf(t *testing.T, headers ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range headers {
		body := ""
		if h.Typeflag == tar.TypeReg {
			body, h.Linkname = h.Linkname, ""
			if h.Size == 0 {
				h.Size = int64(len(body))
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Flush()
	return buf.Bytes()
}

// cpOut runs `banger vm cp box:/x DEST` against the stand-in bangerd.
func cpOut(t *testing.T, dest string) (string, error) {
	t.Helper()
	var stderr bytes.Buffer
	err := Run(context.Background(), []string{"vm", "cp", "box:/x", dest}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	return stderr.String(), err
}

func TestCopyOutRefusesAHostileGuest(t *testing.T) {
	hermetic(t)
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	os.Mkdir(outside, 0o755)
	guestSends(t, tarOf(t,
		&tar.Header{Name: "x/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "x/l", Typeflag: tar.TypeSymlink, Linkname: outside},
		&tar.Header{Name: "x/l/evil", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "pwned"},
	), exitFrame(0))
	_, err := cpOut(t, filepath.Join(base, "dest"))
	if err == nil || !strings.Contains(err.Error(), "refusing to write "+base+"/dest/l/evil through the symbolic link "+base+"/dest/l") {
		t.Errorf("got %v; want a refusal to write through the link", err)
	}
	if _, err := os.Lstat(filepath.Join(outside, "evil")); err == nil {
		t.Error("the guest wrote outside the destination")
	}
}

func TestCopyOutStopsATarBomb(t *testing.T) {
	hermetic(t)
	// A header that claims an exabyte: refused before a byte is written.
	guestSends(t, tarOf(t, &tar.Header{Name: "x", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1 << 60}))
	dest := filepath.Join(t.TempDir(), "bomb")
	_, err := cpOut(t, dest)
	if !errors.Is(err, tarcopy.ErrNoSpace) || !strings.Contains(err.Error(), "the free space on the host") {
		t.Errorf("got %v; want the copy stopped for space", err)
	}
	if _, err := os.Lstat(dest); err == nil {
		t.Error("the bomb left a file")
	}
}

func TestCopyOutPlacesAFileAndSaysWhyAGuestFailed(t *testing.T) {
	hermetic(t)
	guestSends(t, tarOf(t, &tar.Header{Name: "x", Typeflag: tar.TypeReg, Mode: 0o640, Linkname: "hello"}), exitFrame(0))
	dir := t.TempDir()
	if _, err := cpOut(t, dir); err != nil {
		t.Fatalf("vm cp box:/x DIR: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "x")); err != nil || string(b) != "hello" {
		t.Errorf("DIR/x = %q, %v; want hello", b, err)
	}
}

func TestCopyOutReportsTheGuestsReason(t *testing.T) {
	hermetic(t)
	guestSends(t, nil, [2][]byte{{byte(api.FrameStderr)}, []byte("/x: permission denied")}, exitFrame(1))
	_, err := cpOut(t, t.TempDir())
	if err == nil || err.Error() != "in VM box: /x: permission denied" {
		t.Errorf("got %v; want the guest's reason", err)
	}
}
