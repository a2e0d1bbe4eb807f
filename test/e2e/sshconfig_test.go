package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkSSHClients checks that plain OpenSSH tools reach running VM name
// through `banger vm ssh-config`, with strict host key checking, and that
// `vm ssh NAME -- OPTIONS` hands options to ssh (a port forward here).
func checkSSHClients(t *testing.T, n *vmNet, name string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "banger.conf")
	writeFile(t, cfg, n.must(t, "vm", "ssh-config").stdout)
	if out, err := n.shell(fmt.Sprintf("ssh -F %s %s.vm hostname", cfg, name)); err != nil || out != name+"\n" {
		t.Errorf("ssh -F FILE %s.vm: %v: %s", name, err, out)
	}
	// Without a file: ssh closes inherited descriptors, so <(...) cannot
	// work, but its stdin can carry the configuration.
	pipe := fmt.Sprintf("%s vm ssh-config %s | ssh -F /dev/stdin %s hostname", filepath.Join(n.h.bin, "banger"), name, name)
	if out, err := n.shell(pipe); err != nil || out != name+"\n" {
		t.Errorf("banger vm ssh-config | ssh -F /dev/stdin: %v: %s", err, out)
	}

	writeFile(t, filepath.Join(dir, "hello.txt"), "copied by scp\n")
	if out, err := n.shell(fmt.Sprintf("scp -F %s %s/hello.txt %s.vm:/root/ && scp -F %s %s:/root/hello.txt %s/back.txt", cfg, dir, name, cfg, name, dir)); err != nil {
		t.Errorf("scp -F both ways: %v: %s", err, out)
	}
	if back, _ := os.ReadFile(filepath.Join(dir, "back.txt")); string(back) != "copied by scp\n" {
		t.Errorf("scp round trip gave %q", back)
	}

	// A host key that is not the guest's is refused: checking is strict.
	other := filepath.Join(dir, "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, _ := os.ReadFile(other + ".pub")
	writeFile(t, filepath.Join(dir, "known_hosts"), name+" "+string(pub))
	var wrong strings.Builder
	for _, line := range strings.Split(n.must(t, "vm", "ssh-config", name).stdout, "\n") {
		if k, _, _ := strings.Cut(strings.TrimSpace(line), " "); k == "UserKnownHostsFile" {
			line = "  UserKnownHostsFile " + filepath.Join(dir, "known_hosts")
		}
		wrong.WriteString(line + "\n")
	}
	writeFile(t, filepath.Join(dir, "wrong.conf"), wrong.String())
	if out, err := n.shell(fmt.Sprintf("ssh -F %s/wrong.conf %s true", dir, name)); err == nil {
		t.Errorf("ssh accepted a host key that is not the guest's: %s", out)
	}

	checkSSHForward(t, n, name)
}

// checkSSHForward forwards a port of the namespace's loopback to the
// guest's sshd with `vm ssh NAME -- -L ...` and reads sshd's greeting
// through it.
func checkSSHForward(t *testing.T, n *vmNet, name string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", n.name, filepath.Join(n.h.bin, "banger"),
		"vm", "ssh", name, "--", "-L", "127.0.0.1:18022:127.0.0.1:22", "-o", "ExitOnForwardFailure=yes", "head", "-n1")
	cmd.Env = n.h.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder // read only once cmd has exited
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stdin.Close()
	eventually(t, 30*time.Second, "sshd's greeting through vm ssh -- -L", func() error {
		select {
		case err := <-exited:
			t.Fatalf("vm ssh -- -L exited early: %v: %s", err, out.String())
		default:
		}
		return readGreeting(t, n, "127.0.0.1:18022")
	})
	// head reads a line and ends, and ssh with it.
	if _, err := stdin.Write([]byte("done\n")); err != nil {
		t.Errorf("writing to vm ssh: %v", err)
	}
	select {
	case err := <-exited:
		if err != nil || !strings.Contains(out.String(), "done") {
			t.Errorf("vm ssh -- -L ... head -n1: %v: %s", err, out.String())
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Errorf("vm ssh -- -L ... head -n1 did not end")
	}
}

// readGreeting connects to addr in the namespace and reads an ssh
// server's first line.
func readGreeting(t *testing.T, n *vmNet, addr string) error {
	var conn net.Conn
	var err error
	n.inside(t, func() error {
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return nil
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	greeting, err := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(greeting, "SSH-2.0-") {
		return fmt.Errorf("read %q: %v", greeting, err)
	}
	return nil
}

// shell runs a bash command line in the namespace, with the test's
// environment, and returns what it printed.
func (n *vmNet) shell(script string) (string, error) {
	cmd := exec.Command("ip", "netns", "exec", n.name, "bash", "-c", script)
	cmd.Env = n.h.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}
