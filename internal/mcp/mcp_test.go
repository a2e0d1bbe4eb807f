package mcp

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/eventually"
)

// harness is a server over a stand-in bangerd, and one client session.
type harness struct {
	t      *testing.T
	fake   *fakeDaemon
	srv    *Server
	client *sdk.ClientSession

	mu       sync.Mutex
	progress []string
}

func newHarness(t *testing.T, maxOutput int) *harness {
	t.Helper()
	h := &harness{t: t, fake: newFakeDaemon(t)}
	h.srv = New(Options{
		Call: func(ctx context.Context, fn func(*client.Client) error) error { return fn(h.fake.client) },
		Defaults: func(context.Context) (api.CreateVMRequest, error) {
			return api.CreateVMRequest{Image: "debian-bookworm", VCPU: 2, MemoryMiB: 1024, DiskBytes: 8 << 30, Network: "internet"}, nil
		},
		Version: "test", MaxOutput: maxOutput,
	})
	t.Cleanup(h.srv.Close)
	h.client = h.connect()
	return h
}

// connect opens another client session.
func (h *harness) connect() *sdk.ClientSession {
	h.t.Helper()
	st, ct := sdk.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := h.srv.connect(ctx, st); err != nil {
		h.t.Fatal(err)
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, &sdk.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *sdk.ProgressNotificationClientRequest) {
			h.mu.Lock()
			h.progress = append(h.progress, r.Params.Message)
			h.mu.Unlock()
		},
	})
	cs, err := c.Connect(ctx, ct, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { cs.Close() })
	return cs
}

// call calls a tool, which must not fail at the protocol level, and
// returns its result.
func (h *harness) call(name string, args map[string]any) *sdk.CallToolResult {
	h.t.Helper()
	p := &sdk.CallToolParams{Name: name, Arguments: args}
	p.SetProgressToken("tok")
	res, err := h.client.CallTool(context.Background(), p)
	if err != nil {
		h.t.Fatalf("%s: protocol error %v; want a result", name, err)
	}
	return res
}

// ok calls a tool that must succeed, decoding its structured result.
func (h *harness) ok(name string, args map[string]any, out any) {
	h.t.Helper()
	res := h.call(name, args)
	if res.IsError {
		h.t.Fatalf("%s(%v) failed: %s", name, args, text(res))
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, out); err != nil {
		h.t.Fatalf("%s: decoding %s: %v", name, b, err)
	}
}

// fails calls a tool that must give a tool error holding each of want.
func (h *harness) fails(name string, args map[string]any, want ...string) {
	h.t.Helper()
	res := h.call(name, args)
	if !res.IsError {
		h.t.Fatalf("%s(%v) succeeded; want a tool error", name, args)
	}
	for _, w := range want {
		if !strings.Contains(text(res), w) {
			h.t.Errorf("%s(%v) error %q does not say %q", name, args, text(res), w)
		}
	}
}

func text(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*sdk.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

func TestEveryToolHasASchemaAndADescription(t *testing.T) {
	h := newHarness(t, 0)
	res, err := h.client.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		schema, _ := tool.InputSchema.(map[string]any)
		if len(tool.Description) < 80 || schema["type"] != "object" {
			t.Errorf("tool %s: description %q, input schema %v; want a description an agent can act on and an object schema", tool.Name, tool.Description, tool.InputSchema)
		}
	}
	want := []string{"sandbox_create", "sandbox_delete", "sandbox_export_changes", "sandbox_fork", "sandbox_list", "sandbox_list_files", "sandbox_read_file", "sandbox_run", "sandbox_snapshot", "sandbox_write_file"}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("tools = %v, want %v", names, want)
	}
}

func TestSessionSandboxesAreLabelledAndDeletedWhenItEnds(t *testing.T) {
	h := newHarness(t, 0)
	var sb, kept sandboxOut
	h.ok("sandbox_create", map[string]any{"workspace": "/home/u/app"}, &sb)
	h.ok("sandbox_create", map[string]any{"keep": true, "name": "keeper"}, &kept)
	if sb.Session == "" || sb.Session != kept.Session || sb.Workdir != "/root/app" {
		t.Errorf("sandbox = %+v; want the session's label and workdir /root/app", sb)
	}
	h.mu.Lock()
	got := slices.Contains(h.progress, "booting: "+sb.Name)
	h.mu.Unlock()
	if !got {
		t.Errorf("progress = %q; want bangerd's boot progress", h.progress)
	}
	var list listOut
	h.ok("sandbox_list", nil, &list)
	if len(list.Sandboxes) != 2 {
		t.Errorf("sandbox_list = %+v; want the session's two", list)
	}
	h.client.Close()
	eventually.True(t, func() bool { return slices.Equal(h.fake.names(), []string{"keeper"}) })
}

func TestRunReportsStatusOutputAndTimeout(t *testing.T) {
	h := newHarness(t, 0)
	var sb sandboxOut
	h.ok("sandbox_create", map[string]any{"workspace": "/src/app"}, &sb)
	var out runOut
	h.ok("sandbox_run", map[string]any{"sandbox": sb.Name, "command": "echo hi", "env": map[string]string{"A": "1"}}, &out)
	if out.ExitCode != 0 || out.Stdout != "hi\n" {
		t.Errorf("echo hi = %+v", out)
	}
	last := h.fake.execs[len(h.fake.execs)-1]
	if last.Dir != "/root/app" || !slices.Contains(last.Env, "A=1") {
		t.Errorf("exec request = %+v; want the workspace as its directory and A=1", last)
	}
	h.ok("sandbox_run", map[string]any{"sandbox": sb.Name, "command": "exit 3"}, &out)
	if out.ExitCode != 3 {
		t.Errorf("exit 3 reported %d", out.ExitCode)
	}
	h.ok("sandbox_run", map[string]any{"sandbox": sb.Name, "command": "sleep", "timeout_seconds": 0.2}, &out)
	if !out.TimedOut || out.Signal != "KILL" || !strings.Contains(out.Note, "killed after") {
		t.Errorf("a command past its timeout = %+v; want it killed, and said so", out)
	}
}

func TestLongOutputIsCutWithANote(t *testing.T) {
	h := newHarness(t, 4096)
	var sb sandboxOut
	h.ok("sandbox_create", nil, &sb)
	var out runOut
	h.ok("sandbox_run", map[string]any{"sandbox": sb.Name, "command": "flood 100000"}, &out)
	if !out.Truncated || len(out.Stdout) > 4096+300 || !strings.Contains(out.Stdout, "bytes cut here") || !strings.Contains(out.Note, "stdout was 100000 bytes") {
		t.Errorf("100000 bytes of output gave %d bytes, truncated %t, note %q", len(out.Stdout), out.Truncated, out.Note)
	}
}

func TestBadArgumentsAreToolErrorsAndLeaveNothing(t *testing.T) {
	h := newHarness(t, 0)
	h.fails("sandbox_create", map[string]any{"image": "nope"}, `no image named "nope"`, "alpine", "debian-bookworm")
	h.fails("sandbox_create", map[string]any{"workspace": "rel/dir"}, "absolute path")
	h.fails("sandbox_create", map[string]any{"network": "sometimes"}, "unknown network policy")
	h.fails("sandbox_create", map[string]any{"vcpu": "two"}, "vcpu")
	if n := h.fake.names(); len(n) != 0 {
		t.Fatalf("refused creates left VMs %v", n)
	}
	var sb sandboxOut
	h.ok("sandbox_create", nil, &sb)
	h.fails("sandbox_run", map[string]any{"sandbox": sb.Name, "command": "true", "timeout_seconds": -1}, "timeout_seconds -1", "positive")
	h.fails("sandbox_run", map[string]any{"sandbox": "ghost", "command": "true"}, `no sandbox named "ghost"`, sb.Name)
	h.fails("sandbox_read_file", map[string]any{"sandbox": sb.Name, "path": "/root/../etc/shadow"}, "'..'")
	h.fails("sandbox_write_file", map[string]any{"sandbox": sb.Name, "path": "a", "content": "%%", "encoding": "base64"}, "not base64")
	h.fails("sandbox_fork", map[string]any{"sandbox": sb.Name, "name": "Bad_Name"}, "Bad_Name")
	if n := h.fake.names(); len(n) != 1 || h.fake.hasSnapshots() {
		t.Errorf("refused calls left VMs %v (snapshots: %t)", n, h.fake.hasSnapshots())
	}
}

func TestToolsLeaveTheUsersOwnVMsAlone(t *testing.T) {
	h := newHarness(t, 0)
	h.fake.addVM(api.VM{Name: "mine"})
	h.fails("sandbox_delete", map[string]any{"sandbox": "mine"}, `no sandbox named "mine"`)
	h.fails("sandbox_run", map[string]any{"sandbox": "mine", "command": "true"}, `no sandbox named "mine"`)
	var list listOut
	h.ok("sandbox_list", map[string]any{"all": true}, &list)
	if len(list.Sandboxes) != 0 || !slices.Equal(h.fake.names(), []string{"mine"}) {
		t.Errorf("sandbox_list all = %+v, VMs %v; want the user's VM neither listed nor touched", list, h.fake.names())
	}
}

func TestFilesRoundTripAndForkKeepsThem(t *testing.T) {
	h := newHarness(t, 0)
	var sb sandboxOut
	h.ok("sandbox_create", nil, &sb)
	var w writeOut
	h.ok("sandbox_write_file", map[string]any{"sandbox": sb.Name, "path": "notes.txt", "content": "hello", "mode": "0600"}, &w)
	if w.Path != "/root/notes.txt" || w.Size != 5 {
		t.Errorf("write = %+v; want /root/notes.txt, 5 bytes", w)
	}
	h.ok("sandbox_write_file", map[string]any{"sandbox": sb.Name, "path": "/bin.dat", "content": "/w==", "encoding": "base64"}, &w)
	var r fileOut
	h.ok("sandbox_read_file", map[string]any{"sandbox": sb.Name, "path": "/bin.dat"}, &r)
	if r.Encoding != "base64" || r.Content != "/w==" {
		t.Errorf("binary read = %+v; want base64 /w==", r)
	}
	var fork sandboxOut
	h.ok("sandbox_fork", map[string]any{"sandbox": sb.Name}, &fork)
	h.ok("sandbox_read_file", map[string]any{"sandbox": fork.Name, "path": "/root/notes.txt"}, &r)
	if r.Content != "hello" || fork.Session != sb.Session || fork.Name == sb.Name {
		t.Errorf("fork %+v read %+v; want the file written before the fork, in the same session", fork, r)
	}
	if h.fake.hasSnapshots() {
		t.Error("the fork's snapshot was left behind")
	}
	var d deleteOut
	h.ok("sandbox_delete", map[string]any{"sandbox": fork.Name}, &d)
	if slices.Contains(h.fake.names(), fork.Name) {
		t.Errorf("sandbox_delete left %s", fork.Name)
	}
}
