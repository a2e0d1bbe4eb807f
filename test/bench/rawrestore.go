package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"banger/internal/paths"
	"banger/internal/vmdisk"
)

// byHandPoll is how often the restore baseline asks QEMU how far it is:
// often enough that waiting adds next to nothing.
const byHandPoll = 5 * time.Millisecond

// restoreMachine is the command line QEMU ran for a VM banger restored
// from a warm template, and what the baseline needs to run it again
// without banger.
type restoreMachine struct {
	argv        []string
	runDir      string // the VM's run dir (QMP, pid file, console), in argv
	vmDir       string // the dir of the VM's own disks, in argv
	templateDir string // the template's: its state and memory files
	qmp         string // QMP's socket, in runDir
	// drives are the disk files in vmDir, with their sizes.
	drives map[string]int64
}

// captureRestore creates VM name from the warm template, reads its
// QEMU's command line from /proc, and deletes it.
func (b *vmBench) captureRestore(name string) (restoreMachine, error) {
	pids, err := b.createVMs([]string{name})
	defer b.cli("vm", "delete", "--force", name)
	if err != nil {
		return restoreMachine{}, err
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pids[0]))
	if err != nil {
		return restoreMachine{}, fmt.Errorf("reading QEMU's command line: %w", err)
	}
	m := restoreMachine{argv: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")}
	if err := m.parse(); err != nil {
		return m, err
	}
	for f := range m.drives {
		fi, err := os.Stat(f)
		if err != nil {
			return m, err
		}
		m.drives[f] = fi.Size()
	}
	return m, nil
}

// parse finds the run dir, the disks, the template and QMP in argv, and
// checks QEMU was started to take its state over QMP.
func (m *restoreMachine) parse() error {
	var files []string
	for i := 0; i+1 < len(m.argv); i++ {
		arg, opts := m.argv[i+1], optMap(m.argv[i+1])
		switch m.argv[i] {
		case "-pidfile":
			m.runDir = filepath.Dir(arg)
		case "-qmp":
			m.qmp = strings.TrimPrefix(strings.Split(arg, ",")[0], "unix:")
		case "-object":
			if p := opts["mem-path"]; p != "" {
				m.templateDir = filepath.Dir(p)
			}
		case "-drive":
			files = append(files, opts["file"])
			if opts["id"] == "work" {
				m.vmDir = filepath.Dir(opts["file"])
			}
		}
	}
	deferred := slices.Index(m.argv, "-incoming")
	if m.runDir == "" || m.qmp == "" || m.vmDir == "" || m.templateDir == "" || deferred < 0 || deferred+1 >= len(m.argv) || m.argv[deferred+1] != "defer" {
		return fmt.Errorf("the restored QEMU's command line lacks a pid file, QMP, a work disk, a memory file or -incoming defer: %q", m.argv)
	}
	m.drives = map[string]int64{}
	for _, f := range files {
		if filepath.Dir(f) == m.vmDir {
			m.drives[f] = 0
		}
	}
	return nil
}

// baselineArgv is argv with the VM's run dir and disk dir moved to run
// and disks, and its NIC unplugged (a hub port with nothing else on it),
// as in the template.
func (m restoreMachine) baselineArgv(run, disks string) []string {
	out := make([]string, len(m.argv))
	for i, a := range m.argv {
		if i > 0 && m.argv[i-1] == "-netdev" {
			a = "hubport,id=" + optMap(a)["id"] + ",hubid=0"
		}
		out[i] = strings.ReplaceAll(strings.ReplaceAll(a, m.runDir, run), m.vmDir, disks)
	}
	return out
}

// makeDisks makes the baseline's disks in dir: the template's copy
// of each where it has one (the root disk, as banger copies it), else a
// sparse file of the VM's disk's size, as the template's stand-in work
// disk is.
func (m restoreMachine) makeDisks(ctx context.Context, dir string) error {
	for f, size := range m.drives {
		dst := filepath.Join(dir, filepath.Base(f))
		src := filepath.Join(m.templateDir, filepath.Base(f))
		if _, err := os.Stat(src); err == nil {
			if err := vmdisk.CopyDisk(ctx, src, dst); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(dst, nil, 0o600); err != nil {
			return err
		}
		if err := os.Truncate(dst, size); err != nil {
			return err
		}
	}
	return nil
}

// restoreByHand runs QEMU on m's command line in namespace ns, with copies
// of the template's disks, and restores the template's state into it
// over QMP as banger's driver does. It returns the time from starting
// QEMU to QMP reporting the guest running; disks are made before the
// clock starts. QEMU is killed and dir removed after.
func (m restoreMachine) restoreByHand(ctx context.Context, ns *netNS, dir string) (time.Duration, error) {
	defer os.RemoveAll(dir)
	disks, run := filepath.Join(dir, "disks"), filepath.Join(dir, "run")
	for _, d := range []string{disks, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return 0, err
		}
	}
	if err := m.makeDisks(ctx, disks); err != nil {
		return 0, fmt.Errorf("making the restore baseline's disks: %w", err)
	}
	start := time.Now()
	exited, stop, err := ns.startByHand(ctx, m.baselineArgv(run, disks), filepath.Join(dir, "qemu.log"))
	if err != nil {
		return 0, err
	}
	defer stop()
	state := filepath.Join(m.templateDir, paths.StateName)
	if err := loadByHand(strings.ReplaceAll(m.qmp, m.runDir, run), state, exited); err != nil {
		qlog, _ := os.ReadFile(filepath.Join(dir, "qemu.log"))
		return 0, fmt.Errorf("restore baseline: %w\nQEMU's log:\n%s", err, lastLines(string(qlog), 10))
	}
	return time.Since(start), nil
}

// loadByHand takes a QEMU started with -incoming defer from QMP's
// socket appearing to the guest running: shared memory left out of the
// stream, the state loaded from the file, the capability turned off
// again (as banger does, for later saves) and the guest continued.
func loadByHand(socket, state string, exited <-chan struct{}) error {
	q, err := waitQMPSocket(socket, exited)
	if err != nil {
		return err
	}
	defer q.Close()
	if err := q.ignoreShared(true); err != nil {
		return err
	}
	uri := "exec:cat '" + strings.ReplaceAll(state, "'", `'\''`) + "'"
	if _, err := q.do("migrate-incoming", map[string]any{"uri": uri}); err != nil {
		return err
	}
	if err := waitStatus(q, exited, "paused", "postmigrate"); err != nil {
		return err
	}
	if err := q.ignoreShared(false); err != nil {
		return err
	}
	if _, err := q.do("cont", nil); err != nil {
		return err
	}
	return waitStatus(q, exited, "running")
}

// waitQMPSocket connects to QMP as soon as QEMU listens.
func waitQMPSocket(socket string, exited <-chan struct{}) (*qmp, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		q, err := dialQMP(socket)
		if err == nil {
			return q, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("QEMU exited before QMP answered")
		case <-time.After(byHandPoll):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("QMP at %s: %w", socket, err)
		}
	}
}

// waitStatus polls query-status until it is one of want.
func waitStatus(q *qmp, exited <-chan struct{}, want ...string) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st, err := q.status()
		if err != nil {
			return err
		}
		if slices.Contains(want, st) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("QEMU exited in status %s", st)
		case <-time.After(byHandPoll):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("QEMU still %s, not %s, after 5 minutes", st, strings.Join(want, " or "))
		}
	}
}
