package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"banger/internal/api"
)

// TestExecAndSessions runs commands and sessions in one golden-image VM
// through its guest agent: exit statuses, streamed input, a terminal that
// follows resizes, Ctrl-C, vm cp both ways, and sessions that outlive
// their client and a daemon restart.
func TestExecAndSessions(t *testing.T) {
	_, n := goldenVMNet(t, "")
	n.must(t, "vm", "create", "--name", "box", "--vcpu", "2", "--memory", "1024", "--disk-size", "2G")
	checkStats(t, n, "box")

	// Exit statuses come back as a shell reports them; the streams stay apart.
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"sh", "-c", "echo out; echo err >&2; exit 7"}, 7, "out\n", "err\n"},
		{[]string{"sh", "-c", "kill -TERM $$"}, 128 + 15, "", ""},
		{[]string{"no-such-command"}, 127, "", "no-such-command: command not found"},
		{[]string{"/nonexistent"}, 127, "", "/nonexistent: command not found"},
		{[]string{"/etc/passwd"}, 126, "", "/etc/passwd: cannot execute"},
		{[]string{"hostname"}, 0, "box\n", ""},
	} {
		r := n.run(append([]string{"vm", "exec", "box", "--"}, tc.args...)...)
		if r.code != tc.code || r.stdout != tc.stdout || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("vm exec %q: %s\nwant exit %d, stdout %q, stderr with %q", tc.args, r, tc.code, tc.stdout, tc.stderr)
		}
	}
	// banger's own failure is 125, as docker exec's.
	if r := n.run("vm", "exec", "no-such-vm", "--", "true"); r.code != 125 || !strings.Contains(r.stderr, "no-such-vm") {
		t.Errorf("vm exec in a missing VM: %s\nwant exit 125 naming the VM", r)
	}

	// Standard input streams through, more of it than any buffer holds.
	data := make([]byte, 3<<20)
	rand.Read(data)
	sum := sha256.Sum256(data)
	r := n.runEnv(nil, bytes.NewReader(data), "vm", "exec", "box", "--", "sha256sum")
	if r.code != 0 || !strings.HasPrefix(r.stdout, hex.EncodeToString(sum[:])) {
		t.Errorf("sha256sum of 3 MiB piped in: %s\nwant %x", r, sum)
	}

	// -t: a terminal of the client's size that follows its resizes.
	tm := n.terminal(t, 40, 120, "vm", "exec", "-t", "box", "--", "sh", "-c", "tty; stty size; read x; stty size")
	tm.waitFor(t, "40 120")
	if !strings.Contains(tm.screen(), "/dev/pts/") {
		t.Errorf("vm exec -t has no terminal:\n%s", tm.screen())
	}
	tm.resize(t, 50, 132)
	tm.waitForResize(t, n, "box", "50 132")
	tm.write(t, "\r")
	tm.waitFor(t, "50 132")
	if code := tm.wait(t); code != 0 {
		t.Errorf("vm exec -t exited %d:\n%s", code, tm.screen())
	}

	// Ctrl-C reaches the command, whose own exit status comes back.
	testCtrlC(t, n)

	// Files go both ways through the agent, with no network at all.
	testCp(t, n)

	// vm run -d, -e and -w, on VMs of box's size (restored warm).
	testRunFlags(t, n)

	// A session runs on after its client is gone; its logs show what it
	// wrote since.
	r = n.must(t, "session", "start", "box", "--name", "ticker", "--", "sh", "-c", "i=0; while :; do echo tick $i; i=$((i+1)); sleep 1; done")
	if strings.TrimSpace(r.stdout) != "box/ticker" {
		t.Errorf("session start printed %q; want box/ticker", r.stdout)
	}
	eventually(t, 30*time.Second, "ticker's later output in session logs", func() error {
		if out := n.must(t, "session", "logs", "box/ticker").stdout; !strings.Contains(out, "tick 3\n") {
			return fmt.Errorf("logs: %q", out)
		}
		return nil
	})
	if s := sessionNamed(t, n, "box", "ticker"); s.State != api.SessionRunning || s.PID == 0 {
		t.Errorf("session list: %+v", s)
	}
	if out := n.must(t, "__complete", "session", "attach", "").stdout; !strings.Contains(out, "box/ticker") {
		t.Errorf("completion of session names:\n%s", out)
	}

	// Attach to a shell session, type, detach: the shell runs on.
	n.must(t, "session", "start", "box", "--name", "sh", "-t", "--", "bash")
	tm = n.terminal(t, 30, 100, "session", "attach", "box/sh")
	tm.waitFor(t, "Ctrl-] detaches")
	tm.write(t, "echo hi-$((6*7))\r")
	tm.waitFor(t, "hi-42")
	tm.write(t, "\x1d")
	if code := tm.wait(t); code != 0 || !strings.Contains(tm.screen(), "detached from box/sh") {
		t.Errorf("detach: exit %d\n%s", code, tm.screen())
	}
	if s := sessionNamed(t, n, "box", "sh"); s.State != api.SessionRunning {
		t.Errorf("after detaching, the shell is %+v", s)
	}

	// Sessions live in the guest: a restarted daemon finds them running.
	before := lastTick(t, n)
	n.must(t, "daemon", "stop")
	if s := sessionNamed(t, n, "box", "ticker"); s.State != api.SessionRunning {
		t.Fatalf("after a daemon restart: %+v", s)
	}
	eventually(t, 30*time.Second, "ticker still ticking after the daemon restart", func() error {
		if now := lastTick(t, n); now <= before+1 {
			return fmt.Errorf("last tick %d, was %d before the restart", now, before)
		}
		return nil
	})

	// Kill: the status says how it ended; a second kill forgets it.
	if out := n.must(t, "session", "kill", "box/ticker").stdout; !strings.Contains(out, "sent TERM to box/ticker") {
		t.Errorf("session kill said %q", out)
	}
	eventually(t, 20*time.Second, "killed ticker shown as ended", func() error {
		if s := sessionNamed(t, n, "box", "ticker"); s.State != api.SessionExited || s.Exit == nil || s.Exit.Signal != "TERM" {
			return fmt.Errorf("%+v", s)
		}
		return nil
	})
	n.must(t, "session", "kill", "--signal", "KILL", "box/sh")
	n.must(t, "session", "kill", "box/ticker")
	if r := n.run("session", "logs", "box/ticker"); r.code == 0 || !strings.Contains(r.stderr, "no session ticker") {
		t.Errorf("logs of a forgotten session: %s", r)
	}
	n.must(t, "vm", "delete", "--force", "box")
}

// testCtrlC sends SIGINT to a running `vm exec` and checks the command
// got it.
func testCtrlC(t *testing.T, n *vmNet) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", n.name, filepath.Join(n.h.bin, "banger"),
		"vm", "exec", "box", "--", "sh", "-c", `trap 'echo got INT; exit 3' INT; echo ready; sleep 60 & wait`)
	cmd.Env = n.h.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	br := bufio.NewReader(stdout)
	if line, err := br.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("vm exec before Ctrl-C: %q, %v; stderr %s", line, err, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(br)
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if string(rest) != "got INT\n" || code != 3 {
		t.Errorf("after Ctrl-C: exit %d, stdout %q, stderr %s", code, rest, stderr.String())
	}
}

// sessionNamed is one session from `session list VM --json`.
func sessionNamed(t *testing.T, n *vmNet, vm, name string) api.Session {
	t.Helper()
	var list []api.Session
	decodeJSON(t, n.must(t, "session", "list", vm, "--json").stdout, &list)
	for _, s := range list {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no session %s in %+v", name, list)
	return api.Session{}
}

var tickRE = regexp.MustCompile(`tick (\d+)\n`)

// lastTick is the last number the ticker session wrote.
func lastTick(t *testing.T, n *vmNet) int {
	t.Helper()
	m := tickRE.FindAllStringSubmatch(n.must(t, "session", "logs", "box/ticker").stdout, -1)
	if len(m) == 0 {
		t.Fatal("the ticker wrote nothing")
	}
	v, _ := strconv.Atoi(m[len(m)-1][1])
	return v
}

// terminalRun is banger running on a terminal the test drives.
type terminalRun struct {
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

// terminal starts banger in the namespace on a terminal of rows x cols.
func (n *vmNet) terminal(t *testing.T, rows, cols uint16, args ...string) *terminalRun {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name, filepath.Join(n.h.bin, "banger")}, args...)...)
	cmd.Env = append(n.h.env, "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatalf("starting banger on a terminal: %v", err)
	}
	tr := &terminalRun{cmd: cmd, tty: tty, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			tr.mu.Lock()
			tr.out.Write(buf[:n])
			tr.mu.Unlock()
			if err != nil {
				close(tr.done)
				return
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); tty.Close() })
	return tr
}

func (tr *terminalRun) screen() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.out.String()
}

func (tr *terminalRun) waitFor(t *testing.T, want string) {
	t.Helper()
	eventually(t, time.Minute, fmt.Sprintf("%q on the terminal", want), func() error {
		if s := tr.screen(); !strings.Contains(s, want) {
			return fmt.Errorf("screen so far:\n%s", s)
		}
		return nil
	})
}

func (tr *terminalRun) write(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(tr.tty, s); err != nil {
		t.Fatalf("typing %q: %v", s, err)
	}
}

// resize changes the terminal's size; the kernel tells banger with SIGWINCH.
func (tr *terminalRun) resize(t *testing.T, rows, cols uint16) {
	t.Helper()
	if err := pty.Setsize(tr.tty, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
}

// waitForResize waits until the guest's terminal has the new size, seen
// from another exec, so the next check does not race the resize frame.
func (tr *terminalRun) waitForResize(t *testing.T, n *vmNet, vm, size string) {
	t.Helper()
	eventually(t, 30*time.Second, "the guest terminal resized to "+size, func() error {
		r := n.run("vm", "exec", vm, "--", "sh", "-c", "for p in /dev/pts/[0-9]*; do stty -F $p size; done 2>/dev/null")
		if !strings.Contains(r.stdout, size) {
			return fmt.Errorf("terminal sizes in the guest: %q", r.stdout)
		}
		return nil
	})
}

// wait waits for banger to exit and returns its status.
func (tr *terminalRun) wait(t *testing.T) int {
	t.Helper()
	timer := time.AfterFunc(time.Minute, func() { tr.cmd.Process.Kill() })
	defer timer.Stop()
	err := tr.cmd.Wait()
	select {
	case <-tr.done:
	case <-time.After(5 * time.Second):
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("banger on a terminal: %v", err)
	}
	return 0
}
