package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"banger/internal/syncbuf"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpClient is an agent's end of `banger mcp`, run in the test's
// namespace over stdio with the SDK's own client.
type mcpClient struct {
	t        *testing.T
	cs       *sdk.ClientSession
	stderr   *syncbuf.Buffer
	mu       sync.Mutex
	progress int
}

func startMCP(t *testing.T, n *vmNet) *mcpClient {
	t.Helper()
	m := &mcpClient{t: t, stderr: &syncbuf.Buffer{}}
	cmd := exec.Command("ip", "netns", "exec", n.name, filepath.Join(n.h.bin, "banger"), "mcp")
	cmd.Env = n.h.env
	cmd.Stderr = m.stderr
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, &sdk.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *sdk.ProgressNotificationClientRequest) {
			m.mu.Lock()
			m.progress++
			m.mu.Unlock()
		},
	})
	cs, err := c.Connect(context.Background(), &sdk.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Minute}, nil)
	if err != nil {
		t.Fatalf("starting banger mcp: %v\n%s", err, m.stderr)
	}
	m.cs = cs
	return m
}

// call calls a tool; a protocol error fails the test.
func (m *mcpClient) call(name string, args map[string]any) *sdk.CallToolResult {
	m.t.Helper()
	p := &sdk.CallToolParams{Name: name, Arguments: args}
	p.SetProgressToken(name)
	start := time.Now()
	res, err := m.cs.CallTool(context.Background(), p)
	m.t.Logf("%s (%s)", name, time.Since(start).Round(time.Millisecond))
	if err != nil {
		m.t.Fatalf("%s: protocol error %v\nbanger mcp said:\n%s", name, err, m.stderr)
	}
	return res
}

// ok calls a tool that must succeed and returns its structured result.
func (m *mcpClient) ok(name string, args map[string]any) map[string]any {
	m.t.Helper()
	res := m.call(name, args)
	if res.IsError {
		m.t.Fatalf("%s(%v): %s\nbanger mcp said:\n%s", name, args, toolText(res), m.stderr)
	}
	var out map[string]any
	b, _ := json.Marshal(res.StructuredContent)
	json.Unmarshal(b, &out)
	return out
}

// fails calls a tool that must give a tool error saying want.
func (m *mcpClient) fails(name string, args map[string]any, want string) {
	m.t.Helper()
	res := m.call(name, args)
	if !res.IsError || !strings.Contains(toolText(res), want) {
		m.t.Errorf("%s(%v) = error %t %q; want a tool error saying %q", name, args, res.IsError, toolText(res), want)
	}
}

func toolText(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// mcpRepo is a git repository with a Makefile, for a workspace.
func mcpRepo(t *testing.T) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "proj")
	writeFile(t, filepath.Join(repo, "Makefile"), "hello:\n\techo hello from make\n")
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-qm", "first"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.org",
			"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.org", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return repo
}

// TestMCP drives `banger mcp` as an agent would, against real VMs: one
// sandbox serves every check that needs one.
func TestMCP(t *testing.T) {
	_, n := goldenVMNet(t, "")
	repo := mcpRepo(t)
	m := startMCP(t, n)
	tools, err := m.cs.ListTools(context.Background(), nil)
	if err != nil || len(tools.Tools) != 10 {
		t.Fatalf("tools/list = %v, %v; want the 10 sandbox tools", tools, err)
	}

	m.fails("sandbox_create", map[string]any{"image": "no-such-image"}, `no image named "no-such-image"; images: `)
	if r := n.must(t, "vm", "list", "-q"); strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("a refused create left VMs: %s", r.stdout)
	}
	sb := m.ok("sandbox_create", map[string]any{"workspace": repo, "vcpu": 2, "memory_mib": 1024, "disk_size": "1G"})
	name, _ := sb["name"].(string)
	m.mu.Lock()
	notes := m.progress
	m.mu.Unlock()
	if sb["workdir"] != "/root/proj" || notes == 0 {
		t.Errorf("sandbox_create = %v after %d progress notes; want the workspace as workdir, and progress", sb, notes)
	}
	mcpChecks(t, m, name)

	fork := m.ok("sandbox_fork", map[string]any{"sandbox": name})
	forkName, _ := fork["name"].(string)
	got := m.ok("sandbox_read_file", map[string]any{"sandbox": forkName, "path": "/root/proj/note.txt"})
	if got["content"] != "written by the agent\n" {
		t.Errorf("the fork read %v; want the file written before the fork", got)
	}
	m.ok("sandbox_delete", map[string]any{"sandbox": forkName})

	m.cs.Close()
	eventually(t, time.Minute, "the session's sandbox to be deleted", func() error {
		if r := n.run("vm", "show", name); r.code == 0 {
			return fmt.Errorf("VM %s still exists after the session closed", name)
		}
		return nil
	})
	t.Logf("banger mcp said:\n%s", m.stderr)
}

// mcpChecks runs the checks that need one running sandbox.
func mcpChecks(t *testing.T, m *mcpClient, name string) {
	run := func(args map[string]any) map[string]any {
		args["sandbox"] = name
		return m.ok("sandbox_run", args)
	}
	out := run(map[string]any{"command": "make -v && make hello"})
	if out["exit_code"] != 0.0 || !strings.Contains(out["stdout"].(string), "GNU Make") || !strings.Contains(out["stdout"].(string), "hello from make") {
		t.Errorf("make -v in the workspace = %v", out)
	}
	if out := run(map[string]any{"command": "exit 3"}); out["exit_code"] != 3.0 {
		t.Errorf("exit 3 reported %v", out)
	}
	out = run(map[string]any{"command": "sleep 60", "timeout_seconds": 2})
	if out["timed_out"] != true || !strings.Contains(out["note"].(string), "killed after") {
		t.Errorf("a command past its timeout = %v; want it killed, and said so", out)
	}
	m.fails("sandbox_run", map[string]any{"sandbox": name, "command": "true", "timeout_seconds": -5}, "timeout_seconds -5")
	m.fails("sandbox_read_file", map[string]any{"sandbox": name, "path": "../../etc/shadow"}, "'..'")
	m.ok("sandbox_write_file", map[string]any{"sandbox": name, "path": "note.txt", "content": "written by the agent\n"})
	got := m.ok("sandbox_read_file", map[string]any{"sandbox": name, "path": "/root/proj/note.txt"})
	if got["content"] != "written by the agent\n" {
		t.Errorf("read back %v; want what was written", got)
	}
	if out := run(map[string]any{"command": "cat note.txt"}); out["stdout"] != "written by the agent\n" {
		t.Errorf("the guest sees %v; want the written file in the workspace", out)
	}
}
