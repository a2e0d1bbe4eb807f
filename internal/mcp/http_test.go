package mcp

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"banger/internal/eventually"
)

// serveHTTP serves h's server on a loopback port.
func serveHTTP(t *testing.T, h *harness) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.ServeHTTP(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String() + Path
}

// TestHTTPServesSessionsAndRefusesOtherHostsAndOrigins: a session over
// HTTP has its sandboxes deleted when the client ends it.
func TestHTTPServesSessionsAndRefusesOtherHostsAndOrigins(t *testing.T) {
	h := newHarness(t, 0)
	url := serveHTTP(t, h)
	c := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: url}, nil)
	if err != nil {
		t.Fatalf("connecting over HTTP: %v", err)
	}
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "sandbox_create"})
	if err != nil || res.IsError {
		t.Fatalf("sandbox_create over HTTP: %v %v", err, res)
	}
	if len(h.fake.names()) != 1 {
		t.Fatalf("VMs after sandbox_create over HTTP: %v", h.fake.names())
	}
	cs.Close() // DELETE ends the session
	eventually.True(t, func() bool { return len(h.fake.names()) == 0 })
	for _, tc := range []struct {
		name, host, origin string
		want               int
	}{
		{"a rebound DNS name", "evil.example:80", "", http.StatusMisdirectedRequest},
		{"a page of another site", "", "http://evil.example", http.StatusForbidden},
	} {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		if tc.host != "" {
			req.Host = tc.host
		}
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

func TestClipKeepsStartAndEnd(t *testing.T) {
	c := newClip(400)
	c.Write([]byte("START" + strings.Repeat("x", 1000)))
	c.Write([]byte(strings.Repeat("y", 1000) + "END"))
	s := c.String()
	if !strings.HasPrefix(s, "START") || !strings.HasSuffix(s, "END") || c.cut() != 2008-400 || !strings.Contains(s, "1608 bytes cut here") {
		t.Errorf("clip = %q (cut %d); want the start, the end, and a note of the 1608 bytes cut", s, c.cut())
	}
	small := newClip(400)
	small.Write([]byte("whole"))
	if small.String() != "whole" || small.cut() != 0 {
		t.Errorf("short output = %q; want it whole", small.String())
	}
}

// TestHTTPEndsAnIdleSession: a client that vanishes without ending its
// session loses it after the idle timeout, and its unkept sandboxes go.
func TestHTTPEndsAnIdleSession(t *testing.T) {
	h := newHarness(t, 0)
	h.srv.opts.IdleTimeout = time.Second
	url := serveHTTP(t, h)
	c := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: url}, nil)
	if err != nil {
		t.Fatalf("connecting over HTTP: %v", err)
	}
	for _, args := range []map[string]any{{"name": "kept", "keep": true}, {"name": "gone"}} {
		res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "sandbox_create", Arguments: args})
		if err != nil || res.IsError {
			t.Fatalf("sandbox_create %v over HTTP: %v %v", args, err, res)
		}
	}
	// The client sends nothing more, and never ends its session.
	eventually.True(t, func() bool { return slices.Equal(h.fake.names(), []string{"kept"}) })
	if _, err := cs.ListTools(context.Background(), nil); err == nil {
		t.Error("the idle session still answers; want it ended")
	}
	cs.Close()
}
