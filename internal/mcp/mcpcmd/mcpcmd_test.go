package mcpcmd

import (
	"slices"
	"testing"
)

func TestListenAddrMustBeLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:7778": true, "[::1]:7778": true,
		"0.0.0.0:7778": false, "192.168.1.5:7778": false, "localhost:7778": false, "7778": false,
	} {
		if err := CheckListenAddr(addr); (err == nil) != ok {
			t.Errorf("CheckListenAddr(%q) = %v; want allowed %t", addr, err, ok)
		}
	}
}

func TestArgs(t *testing.T) {
	if got := Args(""); !slices.Equal(got, []string{"mcp"}) {
		t.Errorf("Args(\"\") = %q", got)
	}
	if got := Args("[::1]:9"); !slices.Equal(got, []string{"mcp", "--listen", "[::1]:9"}) {
		t.Errorf("Args([::1]:9) = %q", got)
	}
}
