package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
	"banger/internal/atomicfile"
	"banger/internal/procnet"
	"banger/internal/sshkey"
)

// newHostKey replaces the template's ssh host keys with a fresh ed25519
// key, id.HostKey when the host sent one, so no two clones share a host
// key; sshd has yet to load it. It reports whether the guest has sshd.
func newHostKey(id agentproto.Identity) (bool, error) {
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		return false, nil
	}
	priv, pub, err := hostKeyPair(id.HostKey)
	if err != nil {
		return false, err
	}
	old, _ := filepath.Glob("/etc/ssh/ssh_host_*")
	for _, p := range old {
		os.Remove(p)
	}
	name := id.Hostname
	if name == "" {
		name, _ = os.Hostname()
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " root@" + name + "\n"
	if err := atomicfile.WriteFileLater("/etc/ssh/ssh_host_ed25519_key", priv, 0o600); err != nil {
		return false, err
	}
	if err := atomicfile.WriteFileLater("/etc/ssh/ssh_host_ed25519_key.pub", []byte(line), 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// hostKeyPair is the private key in OpenSSH PEM form and its public
// half: those of sent, else of a key made here.
func hostKeyPair(sent []byte) ([]byte, ssh.PublicKey, error) {
	if len(sent) > 0 {
		signer, err := ssh.ParsePrivateKey(sent)
		if err != nil {
			return nil, nil, fmt.Errorf("the host's ssh host key: %w", err)
		}
		if signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
			return nil, nil, fmt.Errorf("the host's ssh host key is %s, not ed25519", signer.PublicKey().Type())
		}
		return sent, signer.PublicKey(), nil
	}
	return sshkey.New("")
}

// sshdSessionPaths are where OpenSSH 9.8 and later install sshd-session,
// the program each connection runs, on the distributions banger's images
// come from.
var sshdSessionPaths = []string{"/usr/lib/openssh/sshd-session", "/usr/libexec/openssh/sshd-session", "/usr/libexec/sshd-session"}

// sshdHoldsKeys reports whether the guest's sshd serves the host keys it
// loaded when it started. Up to OpenSSH 9.7 (Debian 12 has 9.2) each
// connection executes sshd again, which reads the host keys from their
// files then: a new key is served at once, and reloading sshd (seconds
// of the guest's only CPU under emulation) buys nothing. From 9.8 the
// listener loads the keys and hands them to sshd-session, whose presence
// tells the two apart.
func sshdHoldsKeys(sessionPaths []string) bool {
	for _, p := range sessionPaths {
		if fileExists(p) {
			return true
		}
	}
	return false
}

// sshdPIDFile is where Debian's sshd writes its listener's pid.
const sshdPIDFile = "/run/sshd.pid"

// reloadSSHD makes sshd load the new host key. SIGHUP makes it execute
// itself again (same pid), much faster than a restart through systemd;
// it is done when a new listening socket has replaced the old one, so no
// connection reaches the old key after the host is told the new one.
// Without a pid file, systemd restarts it.
func reloadSSHD(ctx context.Context) error {
	pid := sshdPID()
	if pid <= 1 {
		return restartSSHD(ctx)
	}
	before := listeningInodes(22)
	if err := unix.Kill(pid, unix.SIGHUP); err != nil {
		return restartSSHD(ctx)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		now := listeningInodes(22)
		if len(now) > 0 && !anyIn(now, before) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("sshd did not listen again after reloading its host key")
}

// sshdPID is sshd's listener's pid, or 0.
func sshdPID() int {
	b, err := os.ReadFile(sshdPIDFile)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || perr != nil {
		return 0
	}
	return pid
}

// reloadSSHDQuietly is reloadSSHD at the lowest CPU priority, for a
// reload after the answer.
func reloadSSHDQuietly(ctx context.Context) error {
	var pids []int
	if pid := sshdPID(); pid > 1 {
		pids = append(pids, pid)
	}
	return niced(pids, func() error { return reloadSSHD(ctx) })
}

func restartSSHD(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, "systemctl", "restart", "ssh.service").CombinedOutput(); err != nil {
		return fmt.Errorf("restarting sshd: %w: %s", err, out)
	}
	return nil
}

// listeningInodes are the socket inodes listening on TCP port, from
// /proc/net/tcp and tcp6.
func listeningInodes(port int) []string {
	var out []string
	procnet.ScanTables("/proc", func(s procnet.Socket) bool {
		if s.State == procnet.StateListen && int(s.Local.Port()) == port && s.Inode != "" {
			out = append(out, s.Inode)
		}
		return true
	})
	return out
}

func anyIn(xs, set []string) bool {
	for _, x := range xs {
		for _, y := range set {
			if x == y {
				return true
			}
		}
	}
	return false
}
