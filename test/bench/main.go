// Command bench prints banger's speed figures beside baselines measured in
// the same run, on the same machine. `make bench` runs it. It asserts
// nothing: it reports, and marks each figure against its target.
//
// The image and VM figures need root and the host packages (see `make
// host-deps`); without them they are skipped with the reason. VMs run in
// a network namespace the bench makes and removes. The environment tunes
// a run:
//
//	BENCH_ONLY=cli          only the CLI's figures, in seconds: its
//	                        start beside a Go program's, and its daemon
//	                        round trip
//	BENCH_IMAGES=0          skip the image figures (a cold image build)
//	BENCH_WORKSPACE=0       skip the workspace figures (a repository
//	                        copied into a VM, against tar over ssh)
//	BENCH_VMS=0             skip the VM figures
//	BENCH_VM_ROUNDS=N       boots per VM figure (default 3)
//	BENCH_COLD=0            skip the cold vm create and vm run rounds
//	                        and their baseline boot by hand (the warm /
//	                        cold row says so); with BENCH_POLICY=0,
//	                        BENCH_WORKSPACE=0, BENCH_CP=0, BENCH_PORTS=0
//	                        and BENCH_E2B=0 a run does little more than
//	                        the warm, restore and memory figures
//	BENCH_POLICY=0          skip the network policy figures (two dozen
//	                        warm runs)
//	BENCH_MEMORY=0          skip the VM memory figures (RSS and PSS of
//	                        cold and restored VMs, five clones at once)
//	BENCH_CP=0              skip the vm cp figure (200 MiB into a VM)
//	BENCH_PORTS=0           skip the forwarded port figure (64 MiB
//	                        through a forward, then direct)
//	BENCH_E2B=0             skip the E2B SDK figures (they need node
//	                        and `npm ci --prefix test/e2b`)
//	BENCH_MCP=0             skip the MCP figure (sandbox_run of true
//	                        through banger mcp, against vm exec)
//	BENCH_KUBELET=0         skip the kubelet figure (a pod to Running
//	                        on a banger node through a real
//	                        kube-apiserver and kube-scheduler, against
//	                        a warm vm run)
//	BANGER_BENCH_CACHE=DIR  a cache dir kept across runs, so the VM
//	                        figures find the golden image already built
//	                        and the kubelet figure the control plane's
//	                        binaries (under DIR/kube, as in the tests'
//	                        cache; else BANGER_TEST_CACHE's: a cold
//	                        build of them takes about half an hour)
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"text/tabwriter"
	"time"

	"banger/internal/api/client"
)

const (
	calls        = 200
	benchVersion = "bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	only := os.Getenv("BENCH_ONLY")
	if only != "" && only != "cli" {
		return fmt.Errorf("BENCH_ONLY=%q: the only one is cli", only)
	}
	work, err := os.MkdirTemp("", "banger-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "bin")
	if err := build(bin); err != nil {
		return err
	}
	env := append(os.Environ(),
		"HOME="+filepath.Join(work, "home"),
		"XDG_CONFIG_HOME="+filepath.Join(work, "config"),
		"XDG_STATE_HOME="+filepath.Join(work, "state"),
		"XDG_CACHE_HOME="+filepath.Join(work, "cache"),
		"XDG_RUNTIME_DIR="+filepath.Join(work, "run"),
		"BANGER_DAEMON_BIN="+filepath.Join(bin, "bangerd"),
	)
	banger := filepath.Join(bin, "banger")
	defer stopDaemon(banger, env)
	if out, err := command(env, banger, "vm", "list").CombinedOutput(); err != nil {
		return fmt.Errorf("starting the daemon: %v: %s", err, out)
	}

	if err := benchRoundTrips(env, banger, filepath.Join(work, "run", "banger", "bangerd.sock")); err != nil {
		return err
	}
	if err := benchCLIStart(env, bin); err != nil {
		return err
	}
	if only == "cli" {
		return nil
	}
	if os.Getenv("BENCH_IMAGES") == "0" {
		fmt.Println("\n(image figures skipped: BENCH_IMAGES=0)")
	} else if err := benchImages(work, bin); err != nil {
		return err
	}
	if err := benchWorkspace(work, bin, vmCache(work)); err != nil {
		return err
	}
	if err := benchDNS(); err != nil {
		return err
	}
	if os.Getenv("BENCH_VMS") == "0" {
		fmt.Println("\n(VM figures skipped: BENCH_VMS=0)")
		return nil
	}
	return benchVMs(work, bin)
}

// benchRoundTrips measures a CLI call to the daemon at socket against
// its floors: starting a process, and the same call made in-process.
func benchRoundTrips(env []string, banger, socket string) error {
	c := &client.Client{Socket: socket, Version: benchVersion}
	rows := []row{
		{name: "banger vm list (CLI -> daemon round trip)", target: 15 * time.Millisecond},
		{name: "baseline: exec true (process start floor)"},
		{name: "baseline: GET /v1/vms in-process (daemon floor)"},
	}
	var errs []error
	var err error
	rows[0].times, err = repeat(func() error { return command(env, banger, "vm", "list").Run() })
	errs = append(errs, err)
	rows[1].times, err = repeat(func() error { return command(env, "true").Run() })
	errs = append(errs, err)
	rows[2].times, err = repeat(func() error {
		_, err := c.ListVMs(context.Background())
		return err
	})
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	report(rows)
	return nil
}

func build(bin string) error {
	for _, pkg := range []string{"banger", "bangerd", "banger-vsock-agent"} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X banger/internal/version.Version="+benchVersion,
			"-o", filepath.Join(bin, pkg), "./cmd/"+pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v: %s", pkg, err, out)
		}
	}
	return nil
}

func command(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	return cmd
}

func stopDaemon(banger string, env []string) {
	_ = command(env, banger, "daemon", "stop").Run()
}

func repeat(fn func() error) ([]time.Duration, error) {
	times := make([]time.Duration, 0, calls)
	for i := 0; i < calls; i++ {
		start := time.Now()
		if err := fn(); err != nil {
			return nil, err
		}
		times = append(times, time.Since(start))
	}
	return times, nil
}

type row struct {
	name   string
	times  []time.Duration
	target time.Duration // p50 target; 0 for baselines
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func report(rows []row) {
	fmt.Printf("banger bench: %d calls each, %d CPUs, %s/%s, %s\n\n", calls, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tp50\tp95\ttarget")
	for _, r := range rows {
		sort.Slice(r.times, func(i, j int) bool { return r.times[i] < r.times[j] })
		p50, p95 := percentile(r.times, 0.50), percentile(r.times, 0.95)
		target := ""
		if r.target > 0 {
			verdict := "met"
			if p50 > r.target {
				verdict = "MISSED"
			}
			target = fmt.Sprintf("p50 < %s: %s", r.target, verdict)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.name, ms(p50), ms(p95), target)
	}
	tw.Flush()
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
