package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// clonesAtOnce is how many clones of one template the shared-memory
// figure runs together.
const clonesAtOnce = 5

// measureMemoryUnlessSkipped is measureMemory, unless BENCH_MEMORY=0.
func (b *vmBench) measureMemoryUnlessSkipped() ([]oneShot, error) {
	if os.Getenv("BENCH_MEMORY") == "0" {
		fmt.Println("\n(VM memory figures skipped: BENCH_MEMORY=0)")
		return nil, nil
	}
	return b.measureMemory()
}

// vmmMemory is a QEMU's resident set and proportional set size, bytes.
type vmmMemory struct {
	rss, pss int64
	// ramPss is the PSS of the guest's RAM alone; tcgPss that of TCG's
	// translated-code cache (its anonymous rwx mappings), which a VM under
	// KVM has not. The rest is QEMU's own.
	ramPss, tcgPss int64
}

// String is "RSS / PSS (guest RAM's PSS + QEMU's own + TCG's code)".
func (m vmmMemory) String() string {
	s := fmt.Sprintf("%s / %s (guest RAM %s + QEMU %s", mib(m.rss), mib(m.pss), mib(m.ramPss), mib(m.pss-m.ramPss-m.tcgPss))
	if m.tcgPss > 0 {
		s += " + TCG's code cache " + mib(m.tcgPss)
	}
	return s + ")"
}

// add sums two processes' figures.
func (m vmmMemory) add(o vmmMemory) vmmMemory {
	return vmmMemory{rss: m.rss + o.rss, pss: m.pss + o.pss, ramPss: m.ramPss + o.ramPss, tcgPss: m.tcgPss + o.tcgPss}
}

// kvmPss is the PSS without TCG's code cache: what the same VM would cost
// under KVM, as near as this host can tell.
func (m vmmMemory) kvmPss() int64 { return m.pss - m.tcgPss }

// measureMemory reports what a VM costs the host in memory: a cold-booted
// VM's QEMU against a restored one's, once ready, and the summed PSS of
// clonesAtOnce clones of one template running together against one
// clone's. Pages a clone maps from its template and never writes are
// shared, so PSS, which splits shared pages between their users, is the
// figure; RSS counts them in full for every clone.
func (b *vmBench) measureMemory() ([]oneShot, error) {
	cold, err := b.vmmMemoryOf("mem-cold", "--cold")
	if err != nil {
		return nil, err
	}
	pids, err := b.createVMs([]string{"mem-warm"})
	defer b.cli("vm", "delete", "--force", "mem-warm")
	if err != nil {
		return nil, err
	}
	warm, err := procMemory(pids[0])
	if err != nil {
		return nil, err
	}
	steps, err := b.identitySteps("mem-warm")
	if err != nil {
		return nil, err
	}
	together, err := b.clonesPSS()
	if err != nil {
		return nil, err
	}
	return append(steps, []oneShot{
		{name: "baseline: QEMU RSS / PSS of a cold-booted VM, once ready", value: cold.String()},
		{name: "QEMU RSS / PSS of a restored VM, once ready", value: warm.String(),
			target: verdict(warm.pss <= cold.pss, "PSS <= the cold VM's")},
		{name: fmt.Sprintf("summed QEMU PSS of %d clones running at once", clonesAtOnce), value: together.String(),
			target: verdict(float64(together.pss) <= 2.5*float64(warm.pss), fmt.Sprintf("<= 2.5x one clone's (%s)", mib(warm.pss*5/2)))},
		// What templates share is guest RAM. TCG's code cache is each
		// QEMU's own and absent under KVM, where users run banger: the
		// same figure without it is the one that holds there.
		{name: fmt.Sprintf("the same without TCG's code cache (as under KVM): %d clones / one clone", clonesAtOnce),
			value:  fmt.Sprintf("%s / %s = %.2fx", mib(together.kvmPss()), mib(warm.kvmPss()), float64(together.kvmPss())/float64(max(warm.kvmPss(), 1))),
			target: verdict(float64(together.kvmPss()) <= 2.5*float64(warm.kvmPss()), "<= 2.50x")},
		{name: fmt.Sprintf("summed guest-RAM PSS of the %d clones / one clone's", clonesAtOnce),
			value:  fmt.Sprintf("%.2fx", float64(together.ramPss)/float64(max(warm.ramPss, 1))),
			target: verdict(float64(together.ramPss) <= 2.5*float64(warm.ramPss), "<= 2.50x")},
	}...), nil
}

// identitySteps reads how long each step of a restored guest's identity
// took, from the log its agent keeps (/run/banger/identify.log: one
// "step duration" per line; the last three run together).
func (b *vmBench) identitySteps(name string) ([]oneShot, error) {
	out, err := b.cli("vm", "exec", name, "--", "cat", "/run/banger/identify.log")
	if err != nil {
		return nil, err
	}
	var rows []oneShot
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		rows = append(rows, oneShot{name: "identity step of a restored VM: " + line[:i], value: line[i+1:]})
	}
	return rows, nil
}

// vmmMemoryOf creates a VM, reads its QEMU's memory once it is ready, and
// deletes it.
func (b *vmBench) vmmMemoryOf(name string, flags ...string) (vmmMemory, error) {
	pids, err := b.createVMs([]string{name}, flags...)
	defer b.cli("vm", "delete", "--force", name)
	if err != nil {
		return vmmMemory{}, err
	}
	return procMemory(pids[0])
}

// clonesPSS runs clonesAtOnce restored VMs together and sums their QEMUs'
// PSS.
func (b *vmBench) clonesPSS() (vmmMemory, error) {
	var names []string
	for i := range clonesAtOnce {
		names = append(names, fmt.Sprintf("mem-clone-%d", i))
	}
	pids, err := b.createVMs(names)
	defer b.cli(append([]string{"vm", "delete", "--force"}, names...)...)
	if err != nil {
		return vmmMemory{}, err
	}
	var sum vmmMemory
	for _, pid := range pids {
		m, err := procMemory(pid)
		if err != nil {
			return vmmMemory{}, err
		}
		sum = sum.add(m)
	}
	return sum, nil
}

// createVMs creates the VMs one by one and returns their QEMUs' pids:
// each VM's QEMU is the one whose pid file is new.
func (b *vmBench) createVMs(names []string, flags ...string) ([]int, error) {
	var pids []int
	for _, name := range names {
		before := b.pidFiles()
		b.logf("vm create %s %s", name, strings.Join(flags, " "))
		if _, err := b.cli(append([]string{"vm", "create", "--name", name}, flags...)...); err != nil {
			return pids, err
		}
		pid, err := newPID(before, b.pidFiles())
		if err != nil {
			return pids, fmt.Errorf("%s: %w", name, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// newPID reads the pid file in after that is not in before.
func newPID(before, after []string) (int, error) {
	for _, f := range after {
		if slices.Contains(before, f) {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			return 0, fmt.Errorf("pid file %s: %w", f, err)
		}
		return pid, nil
	}
	return 0, fmt.Errorf("no QEMU pid file appeared")
}

func (b *vmBench) pidFiles() []string {
	files, _ := filepath.Glob(filepath.Join(envValue(b.env, "XDG_RUNTIME_DIR"), "banger", "vm", "*", "qemu.pid"))
	return files
}

// procMemory reads a process's Rss and Pss from /proc/PID/smaps_rollup.
func procMemory(pid int) (vmmMemory, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return vmmMemory{}, err
	}
	defer f.Close()
	var m vmmMemory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "Rss":
			m.rss = kb << 10
		case "Pss":
			m.pss = kb << 10
		}
	}
	if m.rss == 0 {
		return m, fmt.Errorf("no Rss in /proc/%d/smaps_rollup", pid)
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	m.ramPss, m.tcgPss, err = mappingsPss(pid)
	return m, err
}

// mappingsPss is the PSS of a QEMU's largest mapping, the guest's RAM
// (gigabytes, where QEMU's own are megabytes), and the summed PSS of its
// anonymous mappings that are writable and executable, TCG's translated
// code, from /proc/PID/smaps.
func mappingsPss(pid int) (ram, tcg int64, err error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return parseSmaps(f)
}

// parseSmaps is mappingsPss on the text of an smaps file.
func parseSmaps(r io.Reader) (ram, tcg int64, err error) {
	var size, bestSize int64
	var code bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.Contains(k, " ") || strings.Contains(k, "-") {
			// A mapping's header: range perms offset dev inode [path].
			f := strings.Fields(line)
			size, code = 0, len(f) == 5 && f[1] == "rwxp"
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "Size":
			size = kb
		case "Pss":
			if size > bestSize {
				bestSize, ram = size, kb<<10
			}
			if code {
				tcg += kb << 10
			}
		}
	}
	return ram, tcg, sc.Err()
}
