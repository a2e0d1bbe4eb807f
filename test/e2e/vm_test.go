package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/vishvananda/netns"

	"banger/internal/api"
)

// vmNet is a network namespace that the VM tests run bangerd, the CLI and
// ssh in, so the bridge, taps and guest addresses never touch the host's
// own network.
type vmNet struct {
	name string
	h    *harness
}

// result is one banger run's outcome.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// newVMNet makes the namespace, moves the daemon into it (images and
// kernels are pulled first, in the root namespace, where the mirror is
// reachable) and removes it all at the end of the test.
func newVMNet(t *testing.T, h *harness, extraEnv ...string) *vmNet {
	t.Helper()
	name := fmt.Sprintf("banger-e2e-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	n := &vmNet{name: name, h: h}
	h.must(t, "daemon", "stop")
	t.Cleanup(func() {
		// Backstop: remove every VM, stop the namespace's daemon.
		var vms []api.VM
		if r := n.run("vm", "list", "--json"); r.code == 0 {
			_ = jsonUnmarshal(r.stdout, &vms)
		}
		for _, v := range vms {
			n.run("vm", "delete", "--force", v.Name)
		}
		n.run("daemon", "stop")
		exec.Command("ip", "netns", "del", name).Run()
	})
	return n
}

// goldenVMNet is how a test that boots golden-image VMs starts: the image
// pulled, the qemu driver pinned in the config (with extraConfig lines
// after it), and a namespace of its own (see newVMNet).
func goldenVMNet(t *testing.T, extraConfig string) (*harness, *vmNet) {
	t.Helper()
	h := need(t)
	h.must(t, "image", "pull", "debian-bookworm")
	cfgFile := filepath.Join(envValue(h.env, "XDG_CONFIG_HOME"), "banger", "config.toml")
	writeFile(t, cfgFile, "vmm = \"qemu\"\n"+extraConfig)
	t.Cleanup(func() { os.Remove(cfgFile) })
	return h, newVMNet(t, h)
}

// run runs banger in the namespace.
func (n *vmNet) run(args ...string) result {
	return n.runEnv(nil, nil, args...)
}

func (n *vmNet) runEnv(env []string, stdin io.Reader, args ...string) result {
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name, filepath.Join(n.h.bin, "banger")}, args...)...)
	cmd.Env = append(append([]string{}, n.h.env...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &errb, stdin
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		errb.WriteString(err.Error())
	}
	return result{out.String(), errb.String(), code}
}

// consoles is the end of every VM's console log, for a failure's report:
// a guest that never got ready says why there.
func (n *vmNet) consoles() string {
	var b strings.Builder
	for _, name := range strings.Fields(n.run("vm", "list", "-q").stdout) {
		out := n.run("vm", "logs", name).stdout
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		fmt.Fprintf(&b, "\nconsole of %s ends with:\n%s\n", name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
	return b.String()
}

// must runs banger in the namespace and fails the test if it fails.
func (n *vmNet) must(t *testing.T, args ...string) result {
	t.Helper()
	start := time.Now()
	r := n.run(args...)
	t.Logf("banger %s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if r.code != 0 {
		t.Fatalf("banger %s: %s\nbangerd.log ends with:\n%s%s", strings.Join(args, " "), r, n.h.logTail(40), n.consoles())
	}
	return r
}

// interactive runs banger in the namespace on a terminal, types input and
// returns everything the terminal showed until banger exited.
func (n *vmNet) interactive(t *testing.T, input string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name, filepath.Join(n.h.bin, "banger")}, args...)...)
	cmd.Env = n.h.env
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatalf("starting banger on a terminal: %v", err)
	}
	defer tty.Close()
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, tty); close(copied) }()
	if _, err := io.WriteString(tty, input); err != nil {
		t.Fatalf("typing into banger: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("banger %s on a terminal: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	tty.Close()
	<-copied
	return out.String()
}

func (n *vmNet) show(t *testing.T, name string) api.VM {
	t.Helper()
	var v api.VM
	decodeJSON(t, n.must(t, "vm", "show", name, "--json").stdout, &v)
	return v
}

// ssh runs a command in the guest and returns its stdout, failing the
// test on a non-zero status.
func (n *vmNet) ssh(t *testing.T, name, script string) string {
	t.Helper()
	r := n.run("vm", "ssh", name, "--", script)
	if r.code != 0 {
		t.Fatalf("vm ssh %s -- %q: %s", name, script, r)
	}
	return r.stdout
}

// listen opens a TCP listener inside the namespace.
func (n *vmNet) listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	n.inside(t, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	t.Cleanup(func() { ln.Close() })
	return ln
}

// inside runs open (which makes sockets) in the namespace: a socket keeps
// the namespace it was made in after its thread returns to the host's.
func (n *vmNet) inside(t *testing.T, open func() error) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(n.name)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		t.Fatal(err)
	}
	oerr := open()
	if err := netns.Set(orig); err != nil {
		panic("cannot return to the host's network namespace: " + err.Error())
	}
	if oerr != nil {
		t.Fatalf("in namespace %s: %v", n.name, oerr)
	}
}

// eventually retries check until it returns nil or the deadline passes.
func eventually(t *testing.T, limit time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestVMLifecycle drives one golden-image VM through what a user does
// with it: create, ssh, file sync, network, daemon restart, a VMM killed
// under it, start, stop and delete. Booted VMs are shared across the
// checks, as each boot costs seconds (tens of them under emulation).
func TestVMLifecycle(t *testing.T) {
	h := need(t)
	h.must(t, "image", "pull", "debian-bookworm")

	// A file_sync entry, and a config the namespace's daemon reads.
	home := envValue(h.env, "HOME")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\n\tname = e2e\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(envValue(h.env, "XDG_CONFIG_HOME"), "banger", "config.toml")
	writeFile(t, cfgFile, "vmm = \"qemu\"\nconsole_log_max = \"64K\"\n\n[[file_sync]]\nhost = \"~/.gitconfig\"\nguest = \"~/.gitconfig\"\n")
	t.Cleanup(func() { os.Remove(cfgFile) })
	n := newVMNet(t, h)

	// Bad input fails clearly and creates nothing.
	if r := n.run("vm", "create", "--name", "Bad_Name"); r.code == 0 || !strings.Contains(r.stderr, "Bad_Name") {
		t.Errorf("bad name accepted: %s", r)
	}
	if r := n.run("vm", "ssh", "nosuch"); r.code == 0 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("ssh to a missing VM: %s", r)
	}

	start := time.Now()
	r := n.must(t, "vm", "create", "--name", "box", "--vcpu", "2", "--memory", "1024", "--disk-size", "2G")
	t.Logf("vm create to ready: %s", time.Since(start).Round(time.Millisecond))
	if strings.TrimSpace(r.stdout) != "box" || !strings.Contains(r.stderr, "spec: 2 vcpu") {
		t.Errorf("vm create output: %s", r)
	}
	v := n.show(t, "box")
	if v.State != "running" || v.VMM != "qemu" || v.Accel == "" || !strings.HasPrefix(v.IP, "172.16.0.") {
		t.Fatalf("vm show after create: %+v", v)
	}
	if r := n.run("vm", "create", "--name", "box"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("duplicate name: %s", r)
	}

	// ssh: the command's status comes back; the guest is who we think.
	if r := n.run("vm", "ssh", "box", "--", "sh", "-c", "echo hi from $(hostname); exit 7"); r.code != 7 || r.stdout != "hi from box\n" {
		t.Errorf("vm ssh status/output: %s", r)
	}
	checkSSHClients(t, n, "box")
	// The work disk is /root, with the key and the file_sync entry.
	out := n.ssh(t, "box", `findmnt -n -o SOURCE,FSTYPE /root; stat -c '%a %u %n' /root/.ssh/authorized_keys /root/.gitconfig; cat /root/.gitconfig; df -B1M --output=size /root | tail -1`)
	for _, want := range []string{"/dev/vd", "600 0 /root/.ssh/authorized_keys", "600 0 /root/.gitconfig", "name = e2e"} {
		if !strings.Contains(out, want) {
			t.Errorf("guest /root lacks %q:\n%s", want, out)
		}
	}
	// Writes to / land in the VM's own layer, not the shared image.
	n.ssh(t, "box", "echo mine > /etc/banger-e2e && sync")

	// Under the open policy the guest reaches the host over the bridge
	// (the default, internet, keeps it from the host's services: see
	// TestNetworkPolicy).
	n.must(t, "vm", "network", "box", "open")
	ln := n.listen(t, "172.16.0.1:0")
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from the host") }))
	port := ln.Addr().(*net.TCPAddr).Port
	if out := n.ssh(t, "box", fmt.Sprintf("curl -sS --max-time 10 http://172.16.0.1:%d/", port)); out != "hello from the host" {
		t.Errorf("guest to host over the bridge: %q", out)
	}

	// Interactive ssh gets a real terminal of the client's size; leaving
	// the shell leaves the VM running.
	screen := n.interactive(t, "tty; stty size; exit\n", "vm", "ssh", "box")
	if !strings.Contains(screen, "/dev/pts/") || !strings.Contains(screen, "40 120") {
		t.Errorf("interactive ssh did not get a terminal:\n%s", screen)
	}
	if v := n.show(t, "box"); v.State != "running" {
		t.Errorf("after leaving the shell the VM is %s", v.State)
	}

	// A second VM gets its own address, and the two reach each other.
	// It is labelled, and found by its label.
	n.must(t, "vm", "create", "--name", "peer", "--image", "debian-bookworm", "--vcpu", "2", "--memory", "1024",
		"--label", "e2e.example.com/role=peer", "--ttl", "1h")
	peer := n.show(t, "peer")
	if peer.IP == "" || peer.IP == v.IP || peer.MAC == v.MAC {
		t.Fatalf("two VMs, addresses %q and %q, MACs %q and %q", v.IP, peer.IP, v.MAC, peer.MAC)
	}
	if peer.Labels["e2e.example.com/role"] != "peer" || peer.ExpiresAt.IsZero() {
		t.Errorf("vm show peer: labels %v, expires %v; want its label and an expiry", peer.Labels, peer.ExpiresAt)
	}
	if r := n.must(t, "vm", "list", "--label", "e2e.example.com/role=peer", "-q"); r.stdout != "peer\n" {
		t.Errorf("vm list --label found %q, want peer alone", r.stdout)
	}
	n.ssh(t, "box", "ping -c1 -W5 "+peer.IP)
	n.ssh(t, "peer", "ping -c1 -W5 "+v.IP)
	// Its expiry brought near, the running VM is deleted on its own.
	n.must(t, "vm", "expire", "peer", "1s")
	eventually(t, 30*time.Second, "the expired VM peer deleted", func() error {
		if r := n.run("vm", "show", "peer"); r.code == 0 || !strings.Contains(r.stderr, "no VM named") {
			return fmt.Errorf("vm show peer: %s", r)
		}
		return nil
	})
	if r := n.must(t, "vm", "list", "-q"); r.stdout != "box\n" {
		t.Errorf("after peer expired, vm list -q: %q, want box alone", r.stdout)
	}

	// A daemon restart keeps the VM: the new daemon adopts it.
	n.must(t, "daemon", "stop")
	if v := n.show(t, "box"); v.State != "running" || v.IP == "" {
		t.Fatalf("after a daemon restart: %+v", v)
	}
	if out := n.ssh(t, "box", "cat /etc/banger-e2e"); out != "mine\n" {
		t.Errorf("after a daemon restart: %q", out)
	}
	// The adopted VM's console log stays bounded: a guest flooding its
	// console costs about twice console_log_max (64K here), not what it
	// wrote.
	n.ssh(t, "box", `head -c 524288 /dev/zero | tr '\000' x > /dev/ttyS0`)
	eventually(t, 10*time.Second, "console log kept within its bound", func() error {
		out := n.must(t, "vm", "logs", "box").stdout
		if len(out) > 3*64<<10 || !strings.Contains(out, "xxxx") {
			return fmt.Errorf("vm logs printed %d bytes, ending %q", len(out), out[max(0, len(out)-20):])
		}
		return nil
	})

	// A VMM killed under banger shows as stopped within seconds.
	pid := qemuPID(t, h)
	if err := syscallKill(pid); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "killed VM shown stopped", func() error {
		if v := n.show(t, "box"); v.State != "stopped" || v.IP != "" {
			return fmt.Errorf("state %s, ip %q", v.State, v.IP)
		}
		return nil
	})
	// It starts again, with its disks as they were.
	n.must(t, "vm", "start", "box")
	if out := n.ssh(t, "box", "cat /etc/banger-e2e /root/.gitconfig"); !strings.Contains(out, "mine") || !strings.Contains(out, "name = e2e") {
		t.Errorf("after vm start: %q", out)
	}

	// Once vm start says running, ssh works at once, every time: the
	// guest's address can come up after its sshd does.
	for i := range 2 {
		n.must(t, "vm", "stop", "box")
		n.must(t, "vm", "start", "box")
		if r := n.run("vm", "ssh", "box", "--", "true"); r.code != 0 {
			t.Errorf("ssh right after stop and start #%d: %s", i+1, r)
		}
	}

	// A running VM is not deleted by mistake.
	if r := n.run("vm", "delete", "box"); r.code == 0 || !strings.Contains(r.stderr, "--force") {
		t.Errorf("delete of a running VM: %s", r)
	}
	n.must(t, "vm", "stop", "box")
	if v := n.show(t, "box"); v.State != "stopped" {
		t.Errorf("after vm stop: %+v", v)
	}
	if r := n.must(t, "vm", "logs", "box"); !strings.Contains(r.stdout, "Linux version") {
		t.Errorf("vm logs lacks the kernel banner:\n%.2000s", r.stdout)
	}
	n.must(t, "vm", "delete", "box")
	if r := n.run("vm", "show", "box"); r.code == 0 {
		t.Errorf("deleted VM still shown: %s", r)
	}
	// The last VM gone, the bridge goes too.
	if out, err := exec.Command("ip", "-n", n.name, "link", "show", "banger0").CombinedOutput(); err == nil {
		t.Errorf("bridge left behind after the last VM:\n%s", out)
	}

	// vm run --rm in command mode: the command's status, then no VM,
	// tap or disk.
	start = time.Now()
	r = n.run("vm", "run", "--rm", "--name", "once", "--vcpu", "2", "--memory", "1024", "--", "sh", "-c", "test -f /root/.gitconfig && exit 7")
	t.Logf("vm run --rm: %s", time.Since(start).Round(time.Millisecond))
	if r.code != 7 || !strings.Contains(r.stderr, "deleted VM once") {
		t.Errorf("vm run --rm -- exit 7: %s", r)
	}
	if r := n.run("vm", "show", "once"); r.code == 0 {
		t.Errorf("vm run --rm left the VM: %s", r)
	}
	if out, _ := exec.Command("ip", "-n", n.name, "-o", "link", "show").CombinedOutput(); strings.Contains(string(out), "bg-") {
		t.Errorf("vm run --rm left a tap:\n%s", out)
	}
	if left, _ := filepath.Glob(filepath.Join(h.state, "vms", "*")); len(left) > 0 {
		t.Errorf("VM files left behind: %q", left)
	}
}

// TestVMNotReadyIsKept checks the one case where --rm keeps a VM: its
// guest never gets ready, and the user is told where to look.
func TestVMNotReadyIsKept(t *testing.T) {
	h := need(t)
	h.must(t, "image", "pull", "debian-bookworm")
	n := newVMNet(t, h)
	// The daemon started by this run gets a deadline no boot can meet.
	r := n.runEnv([]string{"BANGER_READY_TIMEOUT=1ms"}, nil, "vm", "run", "--cold", "--rm", "--name", "slow", "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "banger vm logs slow") {
		t.Errorf("vm run of a guest that is never ready: %s", r)
	}
	if v := n.show(t, "slow"); v.LastError == "" {
		t.Errorf("kept VM has no last error: %+v", v)
	}
	n.must(t, "vm", "delete", "--force", "slow")
}

func qemuPID(t *testing.T, h *harness) int {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(envValue(h.env, "XDG_RUNTIME_DIR"), "banger", "vm", "*", "qemu.pid"))
	if len(matches) != 1 {
		t.Fatalf("want one QEMU pid file, found %q", matches)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
