package mcpcmd

import (
	"slices"
	"strings"
	"testing"
	"time"
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
	if got := Args("", time.Minute); !slices.Equal(got, []string{"mcp"}) {
		t.Errorf("Args(\"\", 1m) = %q; want no flags for stdio", got)
	}
	if got := Args("[::1]:9", 90*time.Second); !slices.Equal(got, []string{"mcp", "--listen", "[::1]:9", "--idle-timeout", "1m30s"}) {
		t.Errorf("Args([::1]:9, 1m30s) = %q", got)
	}
}

func TestIdleTimeoutMayNotBeNegative(t *testing.T) {
	if err := CheckIdleTimeout(-time.Second); err == nil || !strings.Contains(err.Error(), "0 to keep") {
		t.Errorf("CheckIdleTimeout(-1s) = %v; want a refusal saying how to keep idle sessions", err)
	}
	if err := CheckIdleTimeout(0); err != nil {
		t.Errorf("CheckIdleTimeout(0) = %v; want 0 allowed", err)
	}
}
