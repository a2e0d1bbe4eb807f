package daemon

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/e2b/apikey"
	"banger/internal/eventually"
)

// daemonInfo waits for the daemon's API and returns its info.
func daemonInfo(t *testing.T, d *served) api.DaemonInfo {
	t.Helper()
	c := &client.Client{Socket: d.dirs.Socket()}
	var info api.DaemonInfo
	var err error
	eventually.True(t, func() bool { info, err = c.Daemon(context.Background()); return err == nil })
	return info
}

// TestE2BServedWhenConfigured: bangerd makes the API key, serves the E2B
// API with it, and says where in its info.
func TestE2BServedWhenConfigured(t *testing.T) {
	addr := freePort(t)
	d := serveWithConfig(t, "e2b_listen_addr = \""+addr+"\"\n")
	info := daemonInfo(t, d)
	if info.E2BAddr != addr || info.E2BError != "" {
		t.Errorf("daemon info: E2B addr %q, error %q; want %s", info.E2BAddr, info.E2BError, addr)
	}
	st, err := os.Stat(d.dirs.E2BKey())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", st, err)
	}
	key, err := apikey.Secret.Load(d.dirs.E2BKey())
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]int{key: http.StatusOK, "e2b_wrong": http.StatusUnauthorized} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v2/sandboxes", nil)
		req.Header.Set("X-API-KEY", k)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("list with key %.8s...: %d, want %d", k, res.StatusCode, want)
		}
	}
}

// TestE2BPortInUse: a taken port leaves the E2B API off, says why in the
// daemon's info, and the daemon's own API serves.
func TestE2BPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := serveWithConfig(t, "e2b_listen_addr = \""+ln.Addr().String()+"\"\n")
	info := daemonInfo(t, d)
	if !strings.Contains(info.E2BError, "address already in use") || !strings.Contains(info.E2BError, "e2b_listen_addr") || info.E2BAddr != "" {
		t.Errorf("daemon info with the E2B port taken: addr %q, error %q", info.E2BAddr, info.E2BError)
	}
	c := &client.Client{Socket: d.dirs.Socket()}
	if _, err := c.ListVMs(context.Background()); err != nil {
		t.Errorf("ListVMs with the E2B port taken: %v", err)
	}
}

func TestE2BOffByDefault(t *testing.T) {
	d := serveWithConfig(t, "")
	if info := daemonInfo(t, d); info.E2BAddr != "" || info.E2BError != "" {
		t.Errorf("E2B API without e2b_listen_addr: %+v", info)
	}
	if _, err := os.Stat(d.dirs.E2BKey()); err == nil {
		t.Error("made an API key for an E2B API that is off")
	}
}
