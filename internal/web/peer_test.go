package web

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"banger/internal/localpeer"
)

func TestCheckPeer(t *testing.T) {
	loop := newTestServer(t, newFake())
	all, err := New(Options{Backend: newFake(), Addr: "0.0.0.0:7777"})
	if err != nil {
		t.Fatal(err)
	}
	other := os.Getuid() + 4242
	tests := []struct {
		name string
		s    *Server
		p    localpeer.Peer
		want string // "" when served
	}{
		{"same user", loop, localpeer.Peer{IsLocal: true, UID: os.Getuid()}, ""},
		{"root", loop, localpeer.Peer{IsLocal: true, UID: 0}, ""},
		{"another user", loop, localpeer.Peer{IsLocal: true, UID: other}, "this web UI serves only the user who runs bangerd"},
		{"another machine, loopback UI", loop, localpeer.Peer{}, "this web UI serves only this machine"},
		{"another user, remote allowed", all, localpeer.Peer{IsLocal: true, UID: other}, "this web UI serves only the user who runs bangerd"},
		{"unknown", loop, localpeer.Peer{Err: os.ErrPermission}, "cannot tell which user"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "http://"+uiAddr+"/", nil)
		r = r.WithContext(localpeer.WithPeer(r.Context(), tt.p))
		w := httptest.NewRecorder()
		tt.s.Handler().ServeHTTP(w, r)
		if tt.want == "" && w.Code != http.StatusOK {
			t.Errorf("%s: status %d, want the page\n%s", tt.name, w.Code, w.Body)
		}
		if tt.want != "" && (w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), tt.want)) {
			t.Errorf("%s: status %d, want 403 with %q\n%s", tt.name, w.Code, tt.want, w.Body)
		}
	}
}
