package cli

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"banger/internal/daemonctl"
)

// TestMCPBecomesBangerdMCP: `banger mcp` checks its flags, then replaces
// itself with `bangerd mcp`, which holds the server.
func TestMCPBecomesBangerdMCP(t *testing.T) {
	t.Setenv(daemonctl.DaemonBinEnv, "/opt/banger/bangerd")
	var gotBin string
	var gotArgv []string
	execMCP = func(bin string, argv, _ []string) error {
		gotBin, gotArgv = bin, argv
		return nil
	}
	t.Cleanup(func() { execMCP = defaultExecMCP })
	run := func(args ...string) error {
		return Run(context.Background(), append([]string{"mcp"}, args...), strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	}
	run("--listen", "127.0.0.1:7778")
	if want := []string{"bangerd", "mcp", "--listen", "127.0.0.1:7778", "--idle-timeout", "30m0s"}; gotBin != "/opt/banger/bangerd" || !slices.Equal(gotArgv, want) {
		t.Errorf("banger mcp --listen ran %s %q; want %q", gotBin, gotArgv, want)
	}
	run("--listen", "127.0.0.1:7778", "--idle-timeout", "5m")
	if want := []string{"bangerd", "mcp", "--listen", "127.0.0.1:7778", "--idle-timeout", "5m0s"}; !slices.Equal(gotArgv, want) {
		t.Errorf("banger mcp --idle-timeout 5m ran %q; want %q", gotArgv, want)
	}
	gotArgv = nil
	if err := run("--listen", "127.0.0.1:7778", "--idle-timeout", "-5m"); err == nil || gotArgv != nil {
		t.Errorf("banger mcp --idle-timeout -5m = %v, ran %q; want it refused before anything runs", err, gotArgv)
	}
	gotArgv = nil
	if err := run("--listen", "0.0.0.0:7778"); err == nil || !strings.Contains(err.Error(), "127.0.0.1") || gotArgv != nil {
		t.Errorf("banger mcp --listen 0.0.0.0:7778 = %v, ran %q; want it refused before anything runs", err, gotArgv)
	}
}
