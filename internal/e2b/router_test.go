package e2b

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSandboxTarget(t *testing.T) {
	for _, tt := range []struct {
		host    string
		headers map[string]string
		want    target
		ok      bool
		err     string
	}{
		{host: "127.0.0.1:3000", headers: map[string]string{headerSandboxID: "e2b-a", headerSandboxPort: "49983"}, want: target{ID: "e2b-a", Port: 49983}, ok: true},
		{host: "127.0.0.1:3000", headers: map[string]string{headerSandboxID: "e2b-a"}, err: "E2b-Sandbox-Port"},
		{host: "127.0.0.1:3000", headers: map[string]string{headerSandboxID: "e2b-a", headerSandboxPort: "0"}, err: "from 1 to 65535"},
		{host: "8000-e2b-abc.localhost:3000", want: target{ID: "e2b-abc", Port: 8000}, ok: true},
		{host: "8000-E2B-ABC.LOCALHOST", want: target{ID: "e2b-abc", Port: 8000}, ok: true},
		{host: "99999-e2b-abc.localhost:3000", err: "from 1 to 65535"},
		{host: "localhost:3000"},
		{host: "127.0.0.1:3000"},
		{host: "a.b.localhost:3000"},
		{host: "8000-e2b-abc.example.com"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tt.host
		for k, v := range tt.headers {
			r.Header.Set(k, v)
		}
		got, ok, err := sandboxTarget(r)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s %v: err %v, want %q", tt.host, tt.headers, err, tt.err)
			}
			continue
		}
		if err != nil || ok != tt.ok || got != tt.want {
			t.Errorf("%s %v: %+v %v %v, want %+v %v", tt.host, tt.headers, got, ok, err, tt.want, tt.ok)
		}
	}
}

// envdHeaders are the headers the SDK sends to a sandbox's envd.
func envdHeaders(sb sandbox) map[string]string {
	return map[string]string{headerSandboxID: sb.SandboxID, headerSandboxPort: "49983", headerAccessToken: sb.EnvdAccessToken}
}

func TestEnvdByHeaderAndByHost(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base","envVars":{"A":"1"}}`)
	var got map[string]any
	// No API key: the sandbox side needs the access token only.
	if resp := g.send(t, "POST", "/process.Process/List", "{}", envdHeaders(sb), &got); resp.StatusCode != http.StatusOK {
		t.Fatalf("envd by header: %d", resp.StatusCode)
	}
	if got["vm"] != sb.SandboxID || got["env"].(map[string]any)["A"] != "1" || got["path"] != "/process.Process/List" {
		t.Errorf("envd saw %v", got)
	}
	h := map[string]string{"Host": "49983-" + sb.SandboxID + ".localhost:1234", headerAccessToken: sb.EnvdAccessToken}
	if resp := g.send(t, "GET", "/health", "", h, &got); resp.StatusCode != http.StatusOK || got["vm"] != sb.SandboxID {
		t.Errorf("envd by host: %d %v", resp.StatusCode, got)
	}
}

func TestEnvdRefusals(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base"}`)
	wrong := envdHeaders(sb)
	wrong[headerAccessToken] = "nope"
	var e map[string]any
	resp := g.send(t, "POST", "/process.Process/Start", "{}", wrong, &e)
	if resp.StatusCode != http.StatusUnauthorized || e["code"] != "unauthenticated" {
		t.Errorf("wrong token on a Connect call: %d %v", resp.StatusCode, e)
	}
	resp = g.send(t, "GET", "/files?path=/x", "", wrong, &e)
	if resp.StatusCode != http.StatusUnauthorized || e["code"] != float64(http.StatusUnauthorized) {
		t.Errorf("wrong token on /files: %d %v", resp.StatusCode, e)
	}
	gone := envdHeaders(sb)
	gone[headerSandboxID] = "e2b-gone"
	if resp := g.send(t, "POST", "/process.Process/Start", "{}", gone, &e); resp.StatusCode != http.StatusBadGateway || e["code"] != "unavailable" {
		t.Errorf("unknown sandbox: %d %v", resp.StatusCode, e)
	}
	g.vms.Suspend(t.Context(), sb.SandboxID)
	if resp := g.send(t, "GET", "/health", "", envdHeaders(sb), &e); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("paused sandbox: %d %v", resp.StatusCode, e)
	}
}

func TestSignedFileURL(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base"}`)
	exp := strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)
	q := url.Values{"path": {"/root/a.txt"}, "signature": {signature("/root/a.txt", "read", "", sb.EnvdAccessToken, exp)}, "signature_expiration": {exp}}
	var got map[string]any
	if resp := g.send(t, "GET", "/files?"+q.Encode(), "", nil, &got); resp.StatusCode != http.StatusOK || got["vm"] != sb.SandboxID {
		t.Errorf("signed download: %d %v", resp.StatusCode, got)
	}
	// The same URL with the sandbox's headers (no token) is let through
	// by its signature; with a signature of another token it is not.
	hdr := envdHeaders(sb)
	delete(hdr, headerAccessToken)
	if resp := g.send(t, "GET", "/files?"+q.Encode(), "", hdr, &got); resp.StatusCode != http.StatusOK || got["vm"] != sb.SandboxID {
		t.Errorf("signed download with the sandbox's headers: %d %v", resp.StatusCode, got)
	}
	forged := url.Values{"path": {"/root/a.txt"}, "signature": {signature("/root/a.txt", "read", "", "not-the-token", exp)}, "signature_expiration": {exp}}
	var e apiError
	if resp := g.send(t, "GET", "/files?"+forged.Encode(), "", hdr, &e); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a signature of another token with the sandbox's headers: %d %v", resp.StatusCode, e)
	}
	// Signed for reading, not writing; and expired.
	wantError(t, g.send(t, "POST", "/files?"+q.Encode(), "", nil, &e), e, http.StatusUnauthorized, "X-API-KEY")
	old := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	q.Set("signature", signature("/root/a.txt", "read", "", sb.EnvdAccessToken, old))
	q.Set("signature_expiration", old)
	wantError(t, g.send(t, "GET", "/files?"+q.Encode(), "", nil, &e), e, http.StatusUnauthorized, "X-API-KEY")
}

// guestServer is a stand-in for a server in the guest, on loopback; the
// sandbox's VM gets its address.
func guestServer(t *testing.T, g *rig, id string) int {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "echo" {
			upgradeEcho(w)
			return
		}
		fmt.Fprintf(w, "guest %s %s token=%q", r.Method, r.URL.Path, r.Header.Get(headerAccessToken))
	}))
	t.Cleanup(ts.Close)
	ap := netip.MustParseAddrPort(ts.Listener.Addr().String())
	g.vms.update(id, "ip", func(v *VM) { v.IP = ap.Addr().String() })
	return int(ap.Port())
}

// upgradeEcho switches protocols, then echoes lines back.
func upgradeEcho(w http.ResponseWriter) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	rw.Flush()
	line, _ := rw.ReadString('\n')
	rw.WriteString("echo " + line)
	rw.Flush()
}

func TestProxyToAGuestPort(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base"}`)
	port := guestServer(t, g, sb.SandboxID)
	h := map[string]string{"Host": fmt.Sprintf("%d-%s.localhost:3000", port, sb.SandboxID), headerAccessToken: "secret"}
	req, _ := http.NewRequest("GET", g.url+"/hello", nil)
	req.Host = h["Host"]
	req.Header.Set(headerAccessToken, "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != `guest GET /hello token=""` {
		t.Errorf("proxied answer %d %q", resp.StatusCode, body)
	}
	var e map[string]any
	closed := map[string]string{headerSandboxID: sb.SandboxID, headerSandboxPort: "1"}
	if resp := g.send(t, "GET", "/", "", closed, &e); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("a port nothing listens on: %d %v", resp.StatusCode, e)
	}
}

func TestProxyUpgrades(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base"}`)
	port := guestServer(t, g, sb.SandboxID)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %d-%s.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", port, sb.SandboxID)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	fmt.Fprintf(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo ping\n" {
		t.Errorf("after the upgrade: %q %v", line, err)
	}
}

func TestNoEnvdAnswers503(t *testing.T) {
	g := newRig(t)
	g.s.envd = nil
	sb := g.create(t, `{"templateID":"base"}`)
	var e apiError
	wantError(t, g.send(t, "GET", "/health", "", envdHeaders(sb), &e), e, http.StatusServiceUnavailable, "no sandbox-side API")
}
