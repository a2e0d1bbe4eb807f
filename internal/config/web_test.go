package config

import "testing"

func TestParseWebRemote(t *testing.T) {
	tests := []struct {
		name, doc string
		line      int
		key, want string
	}{
		{"all interfaces", "\nweb_listen_addr = \":7777\"\n", 2, "web_listen_addr", "not a loopback address"},
		{"lan address", "web_listen_addr = \"192.168.1.5:7777\"\n", 1, "web_listen_addr", "set web_allow_remote = true"},
		{"host name", "web_listen_addr = \"devbox:7777\"\nweb_allow_remote = false\n", 1, "web_listen_addr", `use "127.0.0.1:PORT"`},
		{"allow as string", "web_allow_remote = \"yes\"\n", 1, "web_allow_remote", `expected true or false, got the string "yes"; write web_allow_remote = true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.doc)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(ps), ps)
			}
			checkProblem(t, ps[0], tt.line, tt.key, tt.want)
		})
	}
	for _, doc := range []string{
		"web_listen_addr = \"127.0.0.1:7777\"\n",
		"web_listen_addr = \"127.0.0.2:7777\"\n",
		"web_listen_addr = \"[::1]:7777\"\n",
		"web_listen_addr = \"localhost:7777\"\n",
		"web_listen_addr = \"0.0.0.0:7777\"\nweb_allow_remote = true\n",
		"web_allow_remote = true\n",
	} {
		if _, err := Parse(testFile, []byte(doc)); err != nil {
			t.Errorf("Parse(%q): %v", doc, err)
		}
	}
}

func TestEncodeWebAllowRemote(t *testing.T) {
	c := Default()
	c.WebListenAddr, c.WebAllowRemote = "0.0.0.0:7777", true
	back, out := reparse(t, c)
	if !back.WebAllowRemote || back.WebListenAddr != "0.0.0.0:7777" {
		t.Errorf("round trip lost the web settings: %+v\n%s", back, out)
	}
}
