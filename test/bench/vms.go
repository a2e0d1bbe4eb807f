package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/test/internal/buildcache"
)

const (
	goldenImage = "debian-bookworm"
	largerImage = "bench-bookworm-x4"
	// vmRounds is how many times each VM figure is measured by default;
	// BENCH_VM_ROUNDS changes it. Each round boots a guest per figure.
	vmRounds = 3
)

// vmSkipReason says why the VM figures cannot be measured here, or "".
func vmSkipReason() string {
	if os.Geteuid() != 0 {
		return "booting VMs needs root (network namespaces, taps)"
	}
	for _, tool := range []string{"qemu-system-x86_64", "debootstrap", "mkfs.ext4", "debugfs", "dumpe2fs", "e2fsck", "resize2fs", "ssh", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed: run `make host-deps`"
		}
	}
	return ""
}

// vmBench holds what the VM figures share: one daemon in a network
// namespace of the bench's own, and the CLI that drives it.
type vmBench struct {
	ctx    context.Context
	work   string
	banger string
	env    []string
	ns     *netNS
	api    *client.Client
	rounds int
	start  time.Time
	// warmRuns are the warm `vm run` figures, for the rows compared
	// with them.
	warmRuns samples
}

// benchVMs measures VMs: `vm run --rm -- true` against QEMU booted by
// hand with the same command line, `vm create` from the golden image
// against an image four times larger, warm runs and their restore
// against QEMU restoring the same template by hand, the memory of VMs
// and the daemon, the cost of the network policy, and the E2B SDK
// against the CLI. The image is pulled in the host's namespace; every VM runs
// in a namespace the bench makes and removes, even on failure.
func benchVMs(work, bin string) error {
	if r := vmSkipReason(); r != "" {
		fmt.Printf("\n(VM figures skipped: %s)\n", r)
		return nil
	}
	rounds := vmRounds
	if s := os.Getenv("BENCH_VM_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("BENCH_VM_ROUNDS=%q: want a positive number", s)
		}
		rounds = n
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &vmBench{ctx: ctx, work: work, banger: filepath.Join(bin, "banger"), rounds: rounds, start: time.Now()}
	b.env = benchEnv(work, bin, "vmstate", vmCache(work))
	b.api = &client.Client{Socket: filepath.Join(work, "run-vmstate", "banger", "bangerd.sock"), Version: benchVersion}
	if err := writeQEMUConfig(b.env); err != nil {
		return err
	}
	defer stopDaemon(b.banger, b.env)
	fmt.Printf("\nVM figures: pulling %s, making a 4x copy, then %d rounds of boots...\n", goldenImage, rounds)
	sizes, err := b.prepareImages()
	if err != nil {
		return err
	}
	ns, err := newNetNS(b.env)
	if err != nil {
		return err
	}
	b.ns = ns
	defer b.cleanup()
	rows, err := b.measure(sizes)
	if err != nil && ctx.Err() != nil {
		return errors.New("interrupted: removing the VMs and the namespace")
	}
	if err != nil {
		return err
	}
	reportOneShots(rows)
	return b.benchE2B()
}

// vmCache is the XDG_CACHE_HOME of the VM figures: BANGER_BENCH_CACHE
// when set, so that reruns on one machine find the golden image built;
// else the image figures' cache, which holds a build when they ran.
func vmCache(work string) string {
	if dir := os.Getenv("BANGER_BENCH_CACHE"); dir != "" {
		buildcache.Prune(filepath.Join(dir, "banger", "builds"), 2)
		return dir
	}
	return imageCache(work)
}

// writeQEMUConfig pins the VMM: the baseline boots QEMU.
func writeQEMUConfig(env []string) error {
	dir := filepath.Join(envValue(env, "XDG_CONFIG_HOME"), "banger")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.toml"), []byte("vmm = \"qemu\"\n"), 0o644)
}

// cleanup removes every VM, stops the namespace's daemon and deletes the
// namespace. It runs after a failure or an interrupt too.
func (b *vmBench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := b.ns.command(ctx, b.banger, "vm", "list", "--json").Output(); err == nil {
		var vms []api.VM
		if json.Unmarshal(out, &vms) == nil {
			for _, v := range vms {
				_ = b.ns.command(ctx, b.banger, "vm", "delete", "--force", v.Name).Run()
			}
		}
	}
	_ = b.ns.command(ctx, b.banger, "daemon", "stop").Run()
	b.ns.delete()
}

// measure runs the VM figures and returns their rows.
func (b *vmBench) measure(sizes imageSizes) ([]oneShot, error) {
	// The first CLI call starts the daemon inside the namespace.
	if _, err := b.cli("vm", "list"); err != nil {
		return nil, err
	}
	rows, cold, err := b.measureCold(sizes)
	if err != nil {
		return nil, err
	}
	// Warm before the VMs made at once: it makes the template, and the
	// first VM of the run, one at a time, when the cold figures are off.
	warm, err := b.measureWarm(cold)
	if err != nil {
		return nil, err
	}
	idle, busy, err := b.measureRSS()
	if err != nil {
		return nil, err
	}
	memory, err := b.measureMemoryUnlessSkipped()
	if err != nil {
		return nil, err
	}
	policy, err := b.measurePolicyUnlessSkipped()
	if err != nil {
		return nil, err
	}
	kube, err := kubeletBench{b}.measureUnlessSkipped(b.warmRuns)
	if err != nil {
		return nil, err
	}
	rows = append(rows, warm...)
	rows = append(rows, kube...)
	rows = append(rows, memory...)
	rows = append(rows, policy...)
	return append(rows,
		oneShot{name: "baseline: bangerd RSS with no VM (same daemon, just before)", value: mib(idle)},
		oneShot{name: "bangerd RSS with 3 VMs running", value: mib(busy), target: verdict(float64(busy) < 50<<20, "< 50 MiB")},
	), nil
}

// cli runs banger in the namespace and returns its stdout.
func (b *vmBench) cli(args ...string) (string, error) {
	cmd := b.ns.command(b.ctx, b.banger, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("banger %s: %v: %s", strings.Join(args, " "), err, lastLines(stderr.String(), 15))
	}
	return string(out), nil
}

// timedCLI runs banger in the namespace and returns how long it took, and
// when each of marks first began a line of its stderr.
func (b *vmBench) timedCLI(marks []string, args ...string) (time.Duration, []time.Duration, error) {
	return b.cliTimes(marks, false, args...)
}

// cliTimes is timedCLI; with interrupt, it sends the CLI SIGINT, as
// Ctrl-C would, once every mark has appeared, and returns then.
func (b *vmBench) cliTimes(marks []string, interrupt bool, args ...string) (time.Duration, []time.Duration, error) {
	cmd := b.ns.command(b.ctx, b.banger, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, nil, err
	}
	at := make([]time.Duration, len(marks))
	seen := 0
	var lines []string
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		for i, m := range marks {
			if at[i] == 0 && strings.HasPrefix(line, m) {
				at[i] = time.Since(start)
				if seen++; seen == len(marks) && interrupt {
					_ = cmd.Process.Signal(os.Interrupt)
				}
			}
		}
		lines = append(lines, line)
	}
	err = cmd.Wait()
	total := time.Since(start)
	failed := func(why string) error {
		return fmt.Errorf("banger %s: %s\n%s", strings.Join(args, " "), why, lastLines(strings.Join(lines, "\n"), 15))
	}
	if err != nil && !(interrupt && seen == len(marks)) {
		return 0, nil, failed(err.Error())
	}
	for i, m := range marks {
		if at[i] == 0 {
			return 0, nil, failed(fmt.Sprintf("printed no %q line: did its progress output change?", m))
		}
	}
	if !interrupt {
		b.logf("banger %s: %s", strings.Join(args, " "), secs(total))
	}
	// A run that went another way than measured (a warm start that fell
	// back to a cold boot) says so, beside its time.
	for _, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "warning:") {
			b.logf("  %s", strings.TrimSpace(line))
		}
	}
	return total, at, nil
}

// logf notes progress on stderr, so a long run shows it is alive.
func (b *vmBench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "  [%s] %s\n", secs(time.Since(b.start)), fmt.Sprintf(format, args...))
}

// measureRSS reads the daemon's resident memory with no VM, then with
// three VMs running (created at once, each to ready), and removes them.
func (b *vmBench) measureRSS() (idle, busy int64, err error) {
	info, err := b.api.Daemon(b.ctx)
	if err != nil {
		return 0, 0, err
	}
	if idle, err = vmRSS(info.PID); err != nil {
		return 0, 0, err
	}
	names := []string{"rss-1", "rss-2", "rss-3"}
	b.logf("creating %d VMs at once for the daemon's memory", len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.cli("vm", "create", "--name", name)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	if busy, err = vmRSS(info.PID); err != nil {
		return 0, 0, err
	}
	// With a VM up, vm exec against vm ssh, and vm cp against a tar pipe.
	cli := func(args ...string) *exec.Cmd { return b.ns.command(b.ctx, b.banger, args...) }
	if err := benchExec(cli, names[0]); err != nil {
		return 0, 0, err
	}
	if err := benchMCPUnlessSkipped(cli, names[0]); err != nil {
		return 0, 0, err
	}
	if err := benchCp(cli, names[0], b.work); err != nil {
		return 0, 0, err
	}
	if err := b.benchPorts(cli, names[0]); err != nil {
		return 0, 0, err
	}
	if _, err := b.cli(append([]string{"vm", "delete", "--force"}, names...)...); err != nil {
		return 0, 0, err
	}
	return idle, busy, nil
}

// vmRSS is a process's resident set in bytes, from /proc.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading bangerd's memory: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// samples are one figure's measurements.
type samples []time.Duration

func (s samples) median() time.Duration {
	sorted := append(samples{}, s...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// String is the median, then every sample in the order measured, or
// their range when there are many.
func (s samples) String() string {
	if len(s) > 3 {
		return fmt.Sprintf("%s (%s-%s, %d runs)", secs(s.median()), secs(slices.Min(s)), secs(slices.Max(s)), len(s))
	}
	all := make([]string, len(s))
	for i, d := range s {
		all[i] = secs(d)
	}
	return fmt.Sprintf("%s (%s)", secs(s.median()), strings.Join(all, " "))
}

func secs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// ratioRow compares two medians against a target ratio.
func ratioRow(name string, a, b samples, target float64) oneShot {
	r := float64(a.median()) / float64(b.median())
	return oneShot{name: name, value: fmt.Sprintf("%.2fx", r), target: verdict(r <= target, fmt.Sprintf("<= %.2fx", target))}
}

func verdict(met bool, target string) string {
	if met {
		return target + ": met"
	}
	return target + ": MISSED"
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}
