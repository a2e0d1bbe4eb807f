package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// e2bAddr is where the namespace's bangerd serves E2B's API; the
// namespace has a loopback of its own, so the port is always free.
const e2bAddr = "127.0.0.1:7778"

// e2bNodeEnv, set to 1, makes a missing Node.js or test/e2b/node_modules
// fail the SDK tests instead of skipping them: CI sets it (.ci/run).
const e2bNodeEnv = "BANGER_E2E_NODE"

// The scenarios of test/e2b/scenario.mjs that TestE2BSDK runs, in order.
// Those in sharedScenarios use the sandbox that create made, and so do
// restartScenarios, with bangerd restarted between the two; kill, last,
// removes it.
var (
	sharedScenarios  = []string{"commands", "stdin", "background", "pty", "files", "watch", "urls", "list", "host", "token"}
	restartScenarios = [2]string{"leave", "rejoin"}
	ownScenarios     = []string{"apierrors", "timeout", "pause", "fork", "three"}
)

// TestE2BSDK runs the npm e2b SDK, pinned in test/e2b, against bangerd's
// E2B API with real VMs: every call the SDK makes goes through the three
// variables `banger e2b env` prints, from inside the test's namespace.
// One sandbox serves the scenarios that can share it (each boot costs
// seconds); the others make their own. Some scenarios alone:
// -run 'TestE2BSDK$/^(pause|kill)$' (create always runs; kill removes
// its sandbox, which the end checks is gone).
func TestE2BSDK(t *testing.T) {
	need(t)
	sdk := needE2BSDK(t)
	_, n := goldenVMNet(t, fmt.Sprintf("e2b_listen_addr = %q\n", e2bAddr))
	env := n.e2bEnv(t)

	created := n.scenario(t, sdk, env, "create", "--keep")
	id := created.sandboxID()
	if id == "" {
		t.Fatalf("scenario create printed no kept sandbox id:\n%s", created.stdout)
	}
	n.wantLabeled(t, created.metadata())
	for _, name := range sharedScenarios {
		t.Run(name, func(t *testing.T) { n.scenario(t, sdk, env, name, "--sandbox", id) })
	}
	t.Run("restart", func(t *testing.T) {
		// Commands left running in the sandbox are found again by a
		// bangerd that did not start them.
		n.scenario(t, sdk, env, restartScenarios[0], "--sandbox", id)
		n.must(t, "daemon", "stop")
		n.must(t, "vm", "list") // any command starts bangerd again
		n.scenario(t, sdk, env, restartScenarios[1], "--sandbox", id)
	})
	for _, name := range ownScenarios {
		t.Run(name, func(t *testing.T) { n.scenario(t, sdk, env, name) })
	}
	t.Run("kill", func(t *testing.T) { n.scenario(t, sdk, env, "kill", "--sandbox", id) })

	// Every sandbox was killed or expired: no VM is left behind.
	if !t.Failed() {
		eventually(t, 30*time.Second, "no VM left once every sandbox is killed", func() error {
			if left := strings.Fields(n.must(t, "vm", "list", "-q").stdout); len(left) > 0 {
				return fmt.Errorf("VMs left: %q", left)
			}
			return nil
		})
	}
}

// e2bSDK is Node.js and test/e2b with its packages installed.
type e2bSDK struct {
	node string
	dir  string
}

// needE2BSDK finds node and test/e2b's node_modules. Without them the
// test skips, saying how to get them, unless BANGER_E2E_NODE=1 asks for
// the SDK tests, where it fails.
func needE2BSDK(t *testing.T) e2bSDK {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "e2b"))
	if err != nil {
		t.Fatal(err)
	}
	why := ""
	node, err := exec.LookPath("node")
	if err != nil {
		why = "node is not installed: `apt-get install nodejs npm`, then `npm ci --prefix test/e2b`"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "e2b", "package.json")); err != nil {
		why = "the e2b SDK is not installed: run `npm ci --prefix test/e2b`"
	}
	if why == "" {
		return e2bSDK{node: node, dir: dir}
	}
	if os.Getenv(e2bNodeEnv) == "1" {
		t.Fatalf("E2B SDK tests: %s (%s=1 asks for them)", why, e2bNodeEnv)
	}
	t.Skipf("E2B SDK tests: %s", why)
	return e2bSDK{}
}

// sdkRun is one run of scenario.mjs: its JSON lines and exit status.
type sdkRun struct {
	args           []string
	stdout, stderr string
	code           int
	lines          []sdkLine
}

// sdkLine is one line scenario.mjs prints.
type sdkLine struct {
	Scenario   string            `json:"scenario"`
	Check      string            `json:"check"`
	Note       string            `json:"note"`
	OK         bool              `json:"ok"`
	MS         float64           `json:"ms"`
	Done       bool              `json:"done"`
	Error      string            `json:"error"`
	ErrorClass string            `json:"errorClass"`
	SandboxID  string            `json:"sandboxId"`
	Metadata   map[string]string `json:"metadata"`
}

func (r sdkRun) String() string {
	return fmt.Sprintf("node scenario.mjs %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// sandboxID is the id create printed for the sandbox it kept.
func (r sdkRun) sandboxID() string {
	for _, l := range r.lines {
		if l.Check == "kept for the next scenarios" {
			return l.SandboxID
		}
	}
	return ""
}

// metadata is the first metadata a check printed.
func (r sdkRun) metadata() map[string]string {
	for _, l := range r.lines {
		if len(l.Metadata) > 0 {
			return l.Metadata
		}
	}
	return nil
}

// failure is the first failed line, or "".
func (r sdkRun) failure() string {
	for _, l := range r.lines {
		if !l.OK && !l.Done && l.Note == "" {
			return fmt.Sprintf("%s: %s: %s", l.Scenario, l.Check, l.Error)
		}
	}
	return ""
}

// run runs scenario.mjs with args and env, inside network namespace ns
// when it is not "", and stops it after limit.
func (s e2bSDK) run(ns string, env []string, limit time.Duration, args ...string) sdkRun {
	return s.runScript("scenario.mjs", ns, env, limit, args...)
}

// runScript is run for another script of test/e2b.
func (s e2bSDK) runScript(script, ns string, env []string, limit time.Duration, args ...string) sdkRun {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	argv := append([]string{s.node, filepath.Join(s.dir, script)}, args...)
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = s.dir, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := sdkRun{args: args, stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		r.code = -1
		r.stderr += err.Error()
	}
	if ctx.Err() != nil {
		r.stderr += fmt.Sprintf("\n(stopped after %s)", limit)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var l sdkLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			r.lines = append(r.lines, l)
		}
	}
	return r
}

// scenario runs one scenario in the namespace and fails the test, with
// its output, the daemon's log and the VMs' consoles, when it fails.
func (n *vmNet) scenario(t *testing.T, sdk e2bSDK, env []string, name string, args ...string) sdkRun {
	t.Helper()
	start := time.Now()
	r := sdk.run(n.name, env, 15*time.Minute, append([]string{"--timeout", "840", name}, args...)...)
	t.Logf("scenario %s: exit %d (%s)", name, r.code, time.Since(start).Round(time.Millisecond))
	for _, l := range r.lines {
		switch {
		case l.Note != "":
			t.Logf("scenario %s: note: %s", name, l.Note)
		case l.Check != "" && l.OK:
			t.Logf("scenario %s: %s (%.0fms)", name, l.Check, l.MS)
		}
	}
	if r.code != 0 {
		t.Fatalf("scenario %s failed: %s\n%s\nbangerd.log ends with:\n%s%s", name, r.failure(), r, n.h.logTail(60), n.consoles())
	}
	return r
}

// e2bEnv is the test's environment with the three variables `banger e2b
// env` prints in place of any E2B_ variable of the caller's.
func (n *vmNet) e2bEnv(t *testing.T) []string {
	t.Helper()
	vars, err := parseExports(n.must(t, "e2b", "env").stdout)
	if err != nil {
		t.Fatalf("banger e2b env: %v", err)
	}
	for _, k := range []string{"E2B_API_URL", "E2B_SANDBOX_URL", "E2B_API_KEY"} {
		if vars[k] == "" {
			t.Fatalf("banger e2b env printed no %s: %q", k, vars)
		}
	}
	var env []string
	for _, kv := range n.h.env {
		if !strings.HasPrefix(kv, "E2B_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// parseExports reads `export NAME=VALUE` lines, VALUE bare or quoted as
// a shell would take it.
func parseExports(out string) (map[string]string, error) {
	vars := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kv, ok := strings.CutPrefix(line, "export ")
		k, v, found := strings.Cut(kv, "=")
		if !ok || !found {
			return nil, fmt.Errorf("line %q is not `export NAME=VALUE`", line)
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
		} else if len(v) >= 2 && v[0] == '"' {
			uq, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("line %q: %w", line, err)
			}
			v = uq
		}
		vars[strings.TrimSpace(k)] = v
	}
	return vars, nil
}

// wantLabeled checks that banger lists the sandbox as a VM of its own,
// its E2B metadata as the VM's labels.
func (n *vmNet) wantLabeled(t *testing.T, metadata map[string]string) {
	t.Helper()
	out := n.must(t, "vm", "list", "--json").stdout
	var vms []map[string]any
	if err := json.Unmarshal([]byte(out), &vms); err != nil {
		t.Fatalf("vm list --json: %v\n%s", err, out)
	}
	for _, v := range vms {
		labels, _ := v["labels"].(map[string]any)
		match := len(metadata) > 0
		for k, want := range metadata {
			match = match && labels[k] == want
		}
		if match {
			return
		}
	}
	t.Errorf("vm list shows no VM labelled with the sandbox's metadata %v:\n%s", metadata, out)
}
