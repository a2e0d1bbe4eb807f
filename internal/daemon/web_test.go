package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/config"
	"banger/internal/eventually"
	"banger/internal/paths"
	"banger/internal/syncbuf"
)

// served is a daemon run by serveWithConfig.
type served struct {
	dirs   paths.Dirs
	cancel context.CancelFunc
	done   chan error
	err    error
	ended  bool
}

// wait waits up to limit for Serve to return, and reports whether it did
// and its error.
func (s *served) wait(limit time.Duration) (bool, error) {
	if !s.ended {
		select {
		case s.err = <-s.done:
			s.ended = true
		case <-time.After(limit):
		}
	}
	return s.ended, s.err
}

// serveWithConfig runs Serve on temp dirs whose config.toml is cfg, and
// stops it at the end of the test.
func serveWithConfig(t *testing.T, cfg string) *served {
	t.Helper()
	return serveLogging(t, cfg, io.Discard)
}

// serveLogging is serveWithConfig with the daemon's log written to log.
func serveLogging(t *testing.T, cfg string, log io.Writer) *served {
	t.Helper()
	dir := t.TempDir()
	run, err := os.MkdirTemp("", "bgd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	dirs := paths.Dirs{Config: dir + "/config", State: dir + "/state", Cache: dir + "/cache", Runtime: run + "/banger"}
	if err := os.MkdirAll(dirs.Config, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs.Config, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{dirs: dirs, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- Serve(ctx, dirs, slog.New(slog.NewTextHandler(log, nil))) }()
	t.Cleanup(func() {
		cancel()
		if ok, _ := s.wait(15 * time.Second); !ok {
			t.Error("daemon did not stop within 15s")
		}
	})
	return s
}

// freePort finds a loopback port that is free now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestWebUIServedWhenConfigured(t *testing.T) {
	addr := freePort(t)
	d := serveWithConfig(t, "web_listen_addr = \""+addr+"\"\n")
	var body string
	eventually.True(t, func() bool {
		res, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		body = string(b)
		return res.StatusCode == http.StatusOK
	})
	if !strings.Contains(body, "No VMs yet") || !strings.Contains(body, `name="csrf"`) {
		t.Errorf("web UI's VM list:\n%s", body)
	}
	// A state change without the page's token is refused.
	res, err := http.Post("http://"+addr+"/vms/box/stop", "application/x-www-form-urlencoded", strings.NewReader("csrf=guess"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("POST without the token: %d", res.StatusCode)
	}
	d.cancel()
	if ok, err := d.wait(15 * time.Second); !ok || err != nil {
		t.Fatalf("Serve: %v (returned: %t)", err, ok)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("web UI still listening after the daemon stopped")
	}
}

// TestWebUIPortInUse: a taken web port turns the web UI off, not the
// daemon: the API answers, the daemon's info says why the web UI is off
// and how to fix it, and the log says so once.
func TestWebUIPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var log syncbuf.Buffer
	d := serveLogging(t, "web_listen_addr = \""+ln.Addr().String()+"\"\n", &log)
	c := &client.Client{Socket: d.dirs.Socket()}
	var info api.DaemonInfo
	eventually.True(t, func() bool { info, err = c.Daemon(context.Background()); return err == nil })
	if !strings.Contains(info.WebError, "address already in use") || !strings.Contains(info.WebError, "pick a free port in web_listen_addr") || info.WebAddr != "" {
		t.Errorf("daemon info with the web port taken: addr %q, error %q; want why and how to fix it", info.WebAddr, info.WebError)
	}
	if _, err := c.ListVMs(context.Background()); err != nil {
		t.Errorf("ListVMs with the web port taken: %v", err)
	}
	if n := strings.Count(log.String(), "web UI is off"); n != 1 {
		t.Errorf("log says the web UI is off %d times, want once:\n%s", n, log.String())
	}
}

// TestWebUIAddrInInfo: a serving web UI's address is in the daemon's info.
func TestWebUIAddrInInfo(t *testing.T) {
	addr := freePort(t)
	d := serveWithConfig(t, "web_listen_addr = \""+addr+"\"\n")
	c := &client.Client{Socket: d.dirs.Socket()}
	var info api.DaemonInfo
	var err error
	eventually.True(t, func() bool { info, err = c.Daemon(context.Background()); return err == nil })
	if info.WebAddr != addr || info.WebError != "" {
		t.Errorf("daemon info: addr %q, error %q; want %s and no error", info.WebAddr, info.WebError, addr)
	}
}

func TestWebUIRemoteAddressRefused(t *testing.T) {
	d := serveWithConfig(t, "web_listen_addr = \"0.0.0.0:7777\"\n")
	ok, err := d.wait(10 * time.Second)
	if !ok {
		t.Fatal("Serve accepted a remote web address")
	}
	if err == nil || !strings.Contains(err.Error(), "web_allow_remote = true") {
		t.Errorf("Serve with a remote web address = %v", err)
	}
}

// TestWebUIRemoteMakesAToken: with web_allow_remote, bangerd keeps an
// access token only its owner can read, and refuses its guests' network.
func TestWebUIRemoteMakesAToken(t *testing.T) {
	addr := freePort(t)
	d := serveWithConfig(t, "web_listen_addr = \""+addr+"\"\nweb_allow_remote = true\n")
	eventually.True(t, func() bool {
		res, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK // this machine needs no token
	})
	st, err := os.Stat(d.dirs.WebToken())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want mode 0600", st, err)
	}
}

func TestWebGuestsFollowTheConfig(t *testing.T) {
	cfg := config.Default()
	cfg.BridgeName, cfg.BridgeSubnet = "bx0", "10.7.0.0/24"
	s := &process{cfg: newLiveConfig("", cfg, fileStamp{})}
	g := s.guestNet()
	if g.Bridge != "bx0" || g.Subnet != netip.MustParsePrefix("10.7.0.0/24") {
		t.Errorf("guestNet = %+v, want bx0 and 10.7.0.0/24", g)
	}
}
