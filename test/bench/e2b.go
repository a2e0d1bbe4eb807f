package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// e2bAddr is where the namespace's bangerd serves E2B's API.
	e2bAddr = "127.0.0.1:7778"
	// e2bFileBytes is what the file figure moves each way: 10 MiB.
	e2bFileBytes = 10 << 20
	// e2bTarget: the SDK's create, run and kill should take at most this
	// many times `vm run --rm -- true`.
	e2bTarget = 1.1
)

// e2bSDK is Node.js and test/e2b with its packages installed.
type e2bSDK struct{ node, dir string }

// findE2BSDK finds node and test/e2b's node_modules, or says why not.
func findE2BSDK() (e2bSDK, string) {
	node, err := exec.LookPath("node")
	if err != nil {
		return e2bSDK{}, "node is not installed: `apt-get install nodejs npm`, then `npm ci --prefix test/e2b`"
	}
	dir, err := filepath.Abs(filepath.Join("test", "e2b"))
	if err != nil {
		return e2bSDK{}, err.Error()
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "e2b", "package.json")); err != nil {
		return e2bSDK{}, "the e2b SDK is not installed: run `npm ci --prefix test/e2b`"
	}
	return e2bSDK{node: node, dir: dir}, ""
}

// benchE2B measures the E2B SDK against the CLI on the same daemon, both
// warm: Sandbox.create() + commands.run('true') + kill() beside `vm run
// --rm -- true`, and files.write + files.read of 10 MiB beside vm cp in
// and out. bangerd is restarted with its E2B API on first.
func (b *vmBench) benchE2B() error {
	if os.Getenv("BENCH_E2B") == "0" {
		fmt.Println("\n(E2B figures skipped: BENCH_E2B=0)")
		return nil
	}
	sdk, why := findE2BSDK()
	if why != "" {
		fmt.Printf("\n(E2B figures skipped: %s)\n", why)
		return nil
	}
	env, err := b.enableE2B()
	if err != nil {
		fmt.Printf("\n(E2B figures skipped: %v)\n", err)
		return nil
	}
	b.logf("E2B figures: %d rounds each, after one warm-up", b.rounds)
	sdkTimes, cliTimes, err := b.measureE2BRoundTrips(sdk, env)
	if err != nil {
		return err
	}
	files, err := b.measureE2BFiles(sdk, env)
	if err != nil {
		return err
	}
	fmt.Printf("\nE2B SDK (npm e2b, Node.js %s) against the CLI, same daemon, both warm\n", sdk.version())
	reportOneShots(append([]oneShot{
		{name: "SDK Sandbox.create() + commands.run('true') + kill()", value: sdkTimes.String()},
		{name: "baseline: banger vm run --rm -- true", value: cliTimes.String()},
		ratioRow("SDK create+run+kill / vm run --rm", sdkTimes, cliTimes, e2bTarget),
	}, files...))
	return nil
}

// enableE2B restarts the namespace's bangerd with e2b_listen_addr set
// and returns the environment `banger e2b env` gives. A daemon that does
// not take the key gets its old configuration back.
func (b *vmBench) enableE2B() ([]string, error) {
	cfg := filepath.Join(envValue(b.env, "XDG_CONFIG_HOME"), "banger", "config.toml")
	old, err := os.ReadFile(cfg)
	if err != nil {
		return nil, err
	}
	restart := func(content []byte) error {
		if _, err := b.cli("daemon", "stop"); err != nil {
			return err
		}
		if err := os.WriteFile(cfg, content, 0o644); err != nil {
			return err
		}
		_, err := b.cli("vm", "list")
		return err
	}
	if err := restart(fmt.Appendf(old, "e2b_listen_addr = %q\n", e2bAddr)); err != nil {
		if rerr := restart(old); rerr != nil {
			return nil, fmt.Errorf("bangerd with e2b_listen_addr: %v; and without: %w", err, rerr)
		}
		return nil, fmt.Errorf("bangerd does not serve E2B here: %w", err)
	}
	out, err := b.cli("e2b", "env")
	if err != nil {
		return nil, err
	}
	env := []string{}
	for _, kv := range b.env {
		if !strings.HasPrefix(kv, "E2B_") {
			env = append(env, kv)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		kv, ok := strings.CutPrefix(strings.TrimSpace(line), "export ")
		k, v, found := strings.Cut(kv, "=")
		if !ok || !found {
			return nil, fmt.Errorf("banger e2b env printed %q, not `export NAME=VALUE`", line)
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, "'")
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

// measureE2BRoundTrips alternates the SDK's create, run and kill with
// `vm run --rm -- true`, after one unmeasured round of each.
func (b *vmBench) measureE2BRoundTrips(sdk e2bSDK, env []string) (samples, samples, error) {
	var sdkTimes, cliTimes samples
	for r := 0; r <= b.rounds; r++ {
		res, err := b.node(sdk, env, "roundtrip")
		if err != nil {
			return nil, nil, err
		}
		start := time.Now()
		if _, err := b.cli("vm", "run", "--rm", "--name", fmt.Sprintf("e2b-base-%d", r), "--", "true"); err != nil {
			return nil, nil, err
		}
		if r > 0 {
			sdkTimes, cliTimes = append(sdkTimes, res.figs["create+run+kill"]), append(cliTimes, time.Since(start))
		}
	}
	return sdkTimes, cliTimes, nil
}

// measureE2BFiles moves 10 MiB into and out of one sandbox with the SDK,
// and into and out of a VM with vm cp, alternating, after a warm-up.
func (b *vmBench) measureE2BFiles(sdk e2bSDK, env []string) ([]oneShot, error) {
	src := filepath.Join(b.work, "e2b-src.bin")
	data := make([]byte, e2bFileBytes)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		return nil, err
	}
	made, err := b.node(sdk, env, "sandbox")
	if err != nil {
		return nil, err
	}
	id := made.id
	defer b.node(sdk, env, "kill", "--sandbox", id)
	if _, err := b.cli("vm", "create", "--name", "e2b-cp"); err != nil {
		return nil, err
	}
	defer b.cli("vm", "delete", "--force", "e2b-cp")
	var write, read, in, out samples
	for r := 0; r <= b.rounds; r++ {
		res, err := b.node(sdk, env, "files", "--sandbox", id, "--bytes", strconv.Itoa(e2bFileBytes))
		if err != nil {
			return nil, err
		}
		cpIn, cpOut, err := b.cpBothWays(src, filepath.Join(b.work, "e2b-back.bin"))
		if err != nil {
			return nil, err
		}
		if r > 0 {
			write, read = append(write, res.figs["files.write"]), append(read, res.figs["files.read"])
			in, out = append(in, cpIn), append(out, cpOut)
		}
	}
	mb := e2bFileBytes >> 20
	return []oneShot{
		{name: fmt.Sprintf("SDK files.write %d MiB", mb), value: write.String()},
		{name: fmt.Sprintf("baseline: banger vm cp %d MiB into a VM", mb), value: in.String()},
		{name: fmt.Sprintf("SDK files.read %d MiB", mb), value: read.String()},
		{name: fmt.Sprintf("baseline: banger vm cp %d MiB out of a VM", mb), value: out.String()},
	}, nil
}

// cpBothWays times vm cp of src into the e2b-cp VM and back out to dst.
func (b *vmBench) cpBothWays(src, dst string) (time.Duration, time.Duration, error) {
	start := time.Now()
	if _, err := b.cli("vm", "cp", src, "e2b-cp:/root/e2b-bench.bin"); err != nil {
		return 0, 0, err
	}
	in := time.Since(start)
	os.Remove(dst)
	start = time.Now()
	if _, err := b.cli("vm", "cp", "e2b-cp:/root/e2b-bench.bin", dst); err != nil {
		return 0, 0, err
	}
	out := time.Since(start)
	if st, err := os.Stat(dst); err != nil || st.Size() != e2bFileBytes {
		return 0, 0, fmt.Errorf("vm cp out of the VM gave %v, %v; want %d bytes", st, err, e2bFileBytes)
	}
	return in, out, nil
}

// nodeResult is what one bench.mjs run printed: its figures and the
// sandbox it made.
type nodeResult struct {
	figs map[string]time.Duration
	id   string
}

// node runs bench.mjs in the namespace and returns its figures.
func (b *vmBench) node(sdk e2bSDK, env []string, args ...string) (nodeResult, error) {
	cmd := b.ns.command(b.ctx, sdk.node, append([]string{filepath.Join(sdk.dir, "bench.mjs")}, args...)...)
	cmd.Env, cmd.Dir = env, sdk.dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	res := nodeResult{figs: map[string]time.Duration{}}
	var failure string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var l struct {
			Figure, Error string
			MS            float64
			SandboxID     string `json:"sandboxId"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if l.Figure != "" {
			res.figs[l.Figure] = time.Duration(l.MS * float64(time.Millisecond))
		}
		if l.SandboxID != "" {
			res.id = l.SandboxID
		}
		if l.Error != "" {
			failure = l.Error
		}
	}
	if err != nil || failure != "" {
		return res, fmt.Errorf("node bench.mjs %s: %v: %s%s", strings.Join(args, " "), err, failure, lastLines(stderr.String(), 10))
	}
	return res, nil
}

// version is node's version, for the report.
func (s e2bSDK) version() string {
	out, err := exec.Command(s.node, "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}
