package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/eventually"
	"banger/internal/paths"
	"banger/internal/version"
)

// startDaemon serves a daemon on temp dirs and returns a client for it and
// a function that stops it and reports Serve's error.
func startDaemon(t *testing.T) (paths.Dirs, *client.Client, func() error) {
	t.Helper()
	dir := t.TempDir()
	run, err := os.MkdirTemp("", "bgd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	dirs := paths.Dirs{Config: dir + "/config", State: dir + "/state", Cache: dir + "/cache", Runtime: run + "/banger"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, dirs, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	c := &client.Client{Socket: dirs.Socket()}
	eventually.True(t, func() bool { _, err := c.Daemon(context.Background()); return err == nil })
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("daemon did not stop within 15s")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return dirs, c, stop
}

// rawGet sends a GET with extra headers straight to the socket.
func rawGet(t *testing.T, socket, path string, header http.Header) *http.Response {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	req, _ := http.NewRequest(http.MethodGet, "http://bangerd"+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestDaemonInfoAndFiles(t *testing.T) {
	dirs, c, stop := startDaemon(t)
	info, err := c.Daemon(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != version.Version || info.PID != os.Getpid() || info.Schema < 1 {
		t.Fatalf("daemon info = %+v", info)
	}
	fi, err := os.Stat(dirs.Socket())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if _, err := os.Stat(dirs.PIDFile()); err != nil {
		t.Fatalf("pid file: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve returned %v after a clean stop", err)
	}
	for _, p := range []string{dirs.Socket(), dirs.PIDFile()} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after shutdown", filepath.Base(p))
		}
	}
}

func TestSecondDaemonRefused(t *testing.T) {
	dirs, _, _ := startDaemon(t)
	err := Serve(context.Background(), dirs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Serve = %v, want ErrAlreadyRunning", err)
	}
	// The loser must not have touched the winner's socket.
	if _, err := os.Stat(dirs.Socket()); err != nil {
		t.Fatalf("socket gone after a refused second daemon: %v", err)
	}
}

func TestBrowserRequestsRefused(t *testing.T) {
	dirs, _, _ := startDaemon(t)
	for _, h := range []string{"Origin", "Referer"} {
		resp := rawGet(t, dirs.Socket(), "/v1/vms", http.Header{h: {"http://evil.example"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("request with %s: status %d, want 403", h, resp.StatusCode)
		}
	}
	if resp := rawGet(t, dirs.Socket(), "/v1/vms", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("plain request: status %d, want 200", resp.StatusCode)
	}
}

func TestVersionMismatchRefusedBeforeActing(t *testing.T) {
	dirs, _, _ := startDaemon(t)
	old := &client.Client{Socket: dirs.Socket(), Version: "0.0.0-other"}
	_, err := old.ListVMs(context.Background())
	var mm *client.VersionMismatchError
	if !errors.As(err, &mm) || mm.Daemon != version.Version {
		t.Fatalf("ListVMs from another version = %v, want a VersionMismatchError naming %s", err, version.Version)
	}
	// Inspecting and stopping stay open to any version.
	if _, err := old.Daemon(context.Background()); err != nil {
		t.Fatalf("GET /v1/daemon from another version: %v", err)
	}
	resp := rawGet(t, dirs.Socket(), "/v1/vms", nil)
	if got := resp.Header.Get(api.VersionHeader); got != version.Version {
		t.Fatalf("version header = %q, want %q", got, version.Version)
	}
}

func TestErrorsKeepTheirKind(t *testing.T) {
	dirs, c, _ := startDaemon(t)
	_, err := c.GetVM(context.Background(), "nope")
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("GetVM(nope) = %v, want not_found naming the vm", err)
	}
	resp := rawGet(t, dirs.Socket(), "/v2/whatever", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown route: status %d, want 404", resp.StatusCode)
	}
	_, err = c.CreateVM(context.Background(), api.CreateVMRequest{Name: "Bad Name", Image: "x", VCPU: 1, MemoryMiB: 512, DiskBytes: 1 << 30}, nil)
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("CreateVM(bad name) = %v, want invalid_argument", err)
	}
}

func TestShutdownRoute(t *testing.T) {
	dirs, c, stop := startDaemon(t)
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve after shutdown request = %v", err)
	}
	if _, err := os.Stat(dirs.Socket()); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("socket left behind")
	}
	if _, err := c.Daemon(context.Background()); !errors.Is(err, client.ErrNotRunning) {
		t.Fatalf("after shutdown: %v, want ErrNotRunning", err)
	}
}

// TestConfigEditsApplyWithoutRestart: the daemon re-reads config.toml when
// it changes.
func TestConfigEditsApplyWithoutRestart(t *testing.T) {
	dirs, c, _ := startDaemon(t)
	ctx := context.Background()
	if _, err := c.ListVMs(ctx); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dirs, "vmm = \"firecracker\"\nfirecracker_bin = \"/nonexistent/firecracker\"\n")
	// firecracker_bin pointing nowhere is only noticed once the edit is read.
	_, err := c.CreateVM(ctx, api.CreateVMRequest{Name: "box", Image: "x", VCPU: 1, MemoryMiB: 64, DiskBytes: 1 << 30}, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/firecracker") {
		t.Fatalf("CreateVM after the edit = %v, want the new firecracker_bin named", err)
	}
}

// TestBadConfigKeepsTheLastGood: a broken config.toml does not block the
// API: the last good config stays in force, and every answer and the
// daemon's status say what is wrong, until it is fixed.
func TestBadConfigKeepsTheLastGood(t *testing.T) {
	dirs, c, _ := startDaemon(t)
	ctx := context.Background()
	var warnings []string
	c.Warn = func(s string) { warnings = append(warnings, s) }
	writeConfig(t, dirs, "vmm = \"firecracker\"\nfirecracker_bin = \"/nonexistent/firecracker\"\n")
	if _, err := c.ListVMs(ctx); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dirs, "vmm = \"firecracker\"\n[vm_defaults]\nvcpu = \"two\"\n")
	if _, err := c.ListVMs(ctx); err != nil {
		t.Fatalf("ListVMs with a broken config = %v, want the list", err)
	}
	if _, err := c.StopVM(ctx, "nosuch"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("StopVM with a broken config = %v, want not found", err)
	}
	_, err := c.CreateVM(ctx, api.CreateVMRequest{Name: "box", Image: "x", VCPU: 1, MemoryMiB: 64, DiskBytes: 1 << 30}, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/firecracker") {
		t.Fatalf("CreateVM with a broken config = %v, want the last good firecracker_bin used", err)
	}
	want := "config.toml is invalid (line 3: vm_defaults.vcpu: "
	if len(warnings) != 3 || !strings.HasPrefix(warnings[0], want) || !strings.Contains(warnings[0], "uses the last good config") ||
		warnings[1] != warnings[0] || warnings[2] != warnings[0] {
		t.Fatalf("warnings = %q, want one starting %q with each of the 3 answers", warnings, want)
	}
	if info, err := c.Daemon(ctx); err != nil || info.ConfigWarning != warnings[0] {
		t.Fatalf("daemon info says %q, %v; want the warning", info.ConfigWarning, err)
	}
	writeConfig(t, dirs, "")
	resp := rawGet(t, dirs.Socket(), api.Prefix+"/vms", nil)
	if w := resp.Header.Get(api.ConfigWarningHeader); resp.StatusCode != http.StatusOK || w != "" {
		t.Fatalf("after the fix: status %d, warning %q; want 200 and none", resp.StatusCode, w)
	}
}

// TestRestartWithBadConfig: a daemon that starts while config.toml is
// invalid uses the copy of the last good config an earlier daemon kept; with
// no such copy it refuses to start, naming the problem.
func TestRestartWithBadConfig(t *testing.T) {
	dirs, c, stop := startDaemon(t)
	ctx := context.Background()
	writeConfig(t, dirs, "bridge_name = \"kept0\"\n")
	if _, err := c.ListVMs(ctx); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dirs, "bridge_name = 7\n")
	live, err := loadLiveConfig(dirs, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start with a bad config and a kept copy: %v", err)
	}
	if got := live.cur.Load().BridgeName; got != "kept0" || !strings.Contains(live.warning(), "line 1: bridge_name") {
		t.Errorf("start with a bad config: bridge %q, warning %q; want the kept bridge and the problem", got, live.warning())
	}
	if err := os.Remove(dirs.LastGoodConfig()); err != nil {
		t.Fatal(err)
	}
	if _, err := loadLiveConfig(dirs, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "config.toml:1: bridge_name") {
		t.Errorf("first start with a bad config = %v, want the problem", err)
	}
}

func writeConfig(t *testing.T, dirs paths.Dirs, body string) {
	t.Helper()
	if err := os.MkdirAll(dirs.Config, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dirs.ConfigFile(), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConfigProblemLoggedOncePerChange: requests that find the same broken
// file do not repeat the log line; a new problem is logged again.
func TestConfigProblemLoggedOncePerChange(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l := &liveConfig{path: "/x/config.toml"}
	_, errA := config.Parse("config.toml", []byte("vmm = 1\n"))
	_, errB := config.Parse("config.toml", []byte("bridge_name = 1\n"))
	for _, err := range []error{errA, errA, errB, errB} {
		l.setInvalid(log, err)
	}
	if n := strings.Count(buf.String(), "config is invalid"); n != 2 {
		t.Errorf("logged %d times, want 2:\n%s", n, buf.String())
	}
}
