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
	if gotBin != "/opt/banger/bangerd" || !slices.Equal(gotArgv, []string{"bangerd", "mcp", "--listen", "127.0.0.1:7778"}) {
		t.Errorf("banger mcp --listen ran %s %q; want bangerd mcp --listen 127.0.0.1:7778", gotBin, gotArgv)
	}
	gotArgv = nil
	if err := run("--listen", "0.0.0.0:7778"); err == nil || !strings.Contains(err.Error(), "127.0.0.1") || gotArgv != nil {
		t.Errorf("banger mcp --listen 0.0.0.0:7778 = %v, ran %q; want it refused before anything runs", err, gotArgv)
	}
}
