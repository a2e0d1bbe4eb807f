package config

import (
	"strings"
	"testing"
)

func TestParseE2B(t *testing.T) {
	c, err := Parse(testFile, []byte("e2b_listen_addr = \"127.0.0.1:3333\"\n"))
	if err != nil || c.E2BListenAddr != "127.0.0.1:3333" || c.E2BAllowRemote {
		t.Fatalf("Parse = %+v, %v", c, err)
	}
	if Default().E2BListenAddr != "" {
		t.Error("the E2B API is on by default")
	}
	tests := []struct {
		name, doc string
		line      int
		want      string
	}{
		{"lan address", "e2b_listen_addr = \"192.168.1.5:3333\"\n", 1, "set e2b_allow_remote = true"},
		{"all interfaces", "\ne2b_listen_addr = \":3333\"\n", 2, "not a loopback address"},
		{"no port", "e2b_listen_addr = \"127.0.0.1\"\n", 1, "is not host:port"},
		{"allow as string", "e2b_allow_remote = \"yes\"\n", 1, "expected true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.doc)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(ps), ps)
			}
			key := "e2b_listen_addr"
			if strings.Contains(tt.doc, "e2b_allow_remote") {
				key = "e2b_allow_remote"
			}
			checkProblem(t, ps[0], tt.line, key, tt.want)
		})
	}
	for _, doc := range []string{
		"e2b_listen_addr = \"[::1]:3333\"\n",
		"e2b_listen_addr = \"localhost:3333\"\n",
		"e2b_listen_addr = \"0.0.0.0:3333\"\ne2b_allow_remote = true\n",
		// The web UI's permission is not the E2B API's.
		"web_allow_remote = true\nweb_listen_addr = \"0.0.0.0:7777\"\ne2b_listen_addr = \"127.0.0.1:3333\"\n",
	} {
		if _, err := Parse(testFile, []byte(doc)); err != nil {
			t.Errorf("Parse(%q): %v", doc, err)
		}
	}
	if ps := problems(t, "web_allow_remote = true\ne2b_listen_addr = \"0.0.0.0:3333\"\n"); len(ps) != 1 {
		t.Errorf("web_allow_remote let the E2B API listen beyond loopback: %v", ps)
	}
}

func TestEncodeE2B(t *testing.T) {
	c := Default()
	_, out := reparse(t, c)
	if !strings.Contains(out, "# e2b_listen_addr: not set (E2B API disabled)\n") || !strings.Contains(out, "e2b_allow_remote = false\n") {
		t.Errorf("defaults encode without the E2B keys:\n%s", out)
	}
	c.E2BListenAddr, c.E2BAllowRemote = "0.0.0.0:3333", true
	back, out := reparse(t, c)
	if back.E2BListenAddr != "0.0.0.0:3333" || !back.E2BAllowRemote {
		t.Errorf("round trip lost the E2B settings: %+v\n%s", back, out)
	}
}
