package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"banger/internal/api"
)

// TestCrashRecovery kills bangerd with SIGKILL in the middle of a template
// build, a snapshot and a create, and restarts it each time (any banger
// command starts it): nothing of what it was doing is left behind (no
// QEMU, tap, mount, half-made template or .partial snapshot), and every VM
// is in a state that matches reality: a running VM answers, a stopped one
// has no VMM.
func TestCrashRecovery(t *testing.T) {
	h, n := goldenVMNet(t, "")
	runtime := filepath.Join(envValue(h.env, "XDG_RUNTIME_DIR"), "banger")
	size := []string{"--vcpu", "2", "--memory", "768"} // a template no other test makes

	// (a) A template build: its guest is booting when the daemon dies.
	n.crashDuring(t, []string{"image", "warm", "debian-bookworm", size[0], size[1], size[2], size[3]}, "the template guest runs", func() bool {
		pids, _ := filepath.Glob(filepath.Join(runtime, "template", "*", "qemu.pid"))
		return len(pids) > 0
	})
	n.must(t, "vm", "list")
	n.assertRecovered(t, runtime)

	// (b) A snapshot: the VM is paused, its state being written.
	n.must(t, append([]string{"vm", "create", "--name", "snapme"}, size...)...)
	n.crashDuring(t, []string{"vm", "snapshot", "snapme", "--name", "s1"}, "the snapshot's state is being written", func() bool {
		_, err := os.Stat(filepath.Join(h.state, "snapshots", ".s1.partial", "state"))
		return err == nil
	})
	n.must(t, "vm", "list")
	n.assertRecovered(t, runtime)
	if v := n.show(t, "snapme"); v.State != "running" {
		t.Errorf("the VM a snapshot was taken of is %s after the crash, want running", v.State)
	}

	// (c) A create: the new VM's VMM runs when the daemon dies.
	n.crashDuring(t, append([]string{"vm", "create", "--name", "newbie"}, size...), "the new VM's VMM runs", func() bool {
		pids, _ := filepath.Glob(filepath.Join(runtime, "vm", "*", "qemu.pid"))
		return len(pids) > 1
	})
	n.must(t, "vm", "list")
	n.assertRecovered(t, runtime)
}

// crashDuring runs banger with args in the background, waits until
// underway reports the step under way, then kills bangerd with SIGKILL
// and waits for the command to end.
func (n *vmNet) crashDuring(t *testing.T, args []string, step string, underway func() bool) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name, filepath.Join(n.h.bin, "banger")}, args...)...)
	cmd.Env = n.h.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Minute)
	for !underway() {
		select {
		case err := <-done:
			t.Fatalf("banger %s ended before %s: %v\n%s", strings.Join(args, " "), step, err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("banger %s: %s not within 5m", strings.Join(args, " "), step)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := n.daemonPID(t)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing bangerd (pid %d): %v", pid, err)
	}
	t.Logf("killed bangerd (pid %d) while %s, during banger %s", pid, step, strings.Join(args, " "))
	// Its main thread turns zombie before the last of its threads has
	// closed the socket: wait for both, or the next command may connect
	// to the dying daemon and be reset.
	socket := filepath.Join(envValue(n.h.env, "XDG_RUNTIME_DIR"), "banger", "bangerd.sock")
	eventually(t, 30*time.Second, "bangerd gone", func() error {
		if alive(pid) {
			return fmt.Errorf("pid %d still runs", pid)
		}
		c, err := net.Dial("unix", socket) // a path, the same in every namespace
		if err == nil {
			c.Close()
			return fmt.Errorf("pid %d still answers on %s", pid, socket)
		}
		return nil
	})
	select {
	case err := <-done:
		if err == nil {
			t.Logf("banger %s succeeded although bangerd was killed:\n%s", strings.Join(args, " "), out.String())
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("banger %s did not end within a minute of bangerd's death", strings.Join(args, " "))
	}
}

// daemonPID is the running bangerd's pid, from its pid file, checked to
// be a bangerd.
func (n *vmNet) daemonPID(t *testing.T) int {
	t.Helper()
	file := filepath.Join(envValue(n.h.env, "XDG_RUNTIME_DIR"), "banger", "bangerd.pid")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading bangerd's pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %s: %v", file, err)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if argv := strings.Split(string(cmdline), "\x00"); filepath.Base(argv[0]) != "bangerd" {
		t.Fatalf("pid %d from %s is not bangerd: %q", pid, file, cmdline)
	}
	return pid
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// assertRecovered waits until every VM is running or stopped, then checks
// that what the daemon reports matches the host: one QEMU and one tap per
// running VM and none else, each running VM answering, and no template
// build, half-made template, .partial snapshot or mount left.
func (n *vmNet) assertRecovered(t *testing.T, runtime string) {
	t.Helper()
	var vms []api.VM
	eventually(t, 4*time.Minute, "every VM running or stopped", func() error {
		vms = nil
		decodeJSON(t, n.must(t, "vm", "list", "--json").stdout, &vms)
		for _, v := range vms {
			if v.State != "running" && v.State != "stopped" {
				return fmt.Errorf("VM %s is %s", v.Name, v.State)
			}
		}
		return nil
	})
	running := 0
	for _, v := range vms {
		if v.State != "running" {
			continue
		}
		running++
		if r := n.run("vm", "exec", v.Name, "--", "true"); r.code != 0 {
			t.Errorf("VM %s is listed running but does not answer: %s", v.Name, r)
		}
	}
	t.Logf("after the restart: %d VMs, %d running", len(vms), running)
	work := filepath.Dir(filepath.Dir(n.h.state))
	if q := qemusOf(work); len(q) != running {
		t.Errorf("%d QEMU processes of this test run for %d running VMs:\n%s", len(q), running, strings.Join(q, "\n"))
	}
	out, err := exec.Command("ip", "-n", n.name, "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link: %v: %s", err, out)
	}
	var taps []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], "bg-") {
			taps = append(taps, strings.TrimSuffix(f[1], ":"))
		}
	}
	if len(taps) != running {
		t.Errorf("taps %q for %d running VMs", taps, running)
	}
	mountinfo, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if strings.Contains(line, work) {
			t.Errorf("a mount is left under the test's dirs: %s", line)
		}
	}
	for _, pattern := range []string{
		filepath.Join(n.h.state, "snapshots", ".*"),
		filepath.Join(runtime, "template", "*"),
	} {
		if left, _ := filepath.Glob(pattern); len(left) > 0 {
			t.Errorf("left behind: %q", left)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(n.h.state, "templates", "*"))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "template.json")); err != nil {
			t.Errorf("a half-made template is left: %s", d)
		}
	}
}

// qemusOf lists the QEMU processes whose command line names a path under
// dir, as "PID: command line".
func qemusOf(dir string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if !strings.Contains(filepath.Base(argv[0]), "qemu") || !strings.Contains(string(b), dir+"/") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if !alive(pid) {
			continue
		}
		out = append(out, fmt.Sprintf("%d: %s", pid, strings.Join(argv, " ")))
	}
	return out
}
