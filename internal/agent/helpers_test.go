package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/procnet"
)

// guest is a fake guest filesystem for a Server: an sshd binary, host keys
// and procfs files in a temp dir, and a port-22 address with nothing on it.
type guest struct {
	opts    Options
	keyDir  string
	sshAddr string
	// probes counts status checks (through the Addresses hook).
	probes atomic.Int64
	// onProbe, when set, runs at each status check with its number.
	onProbe func(n int64)
	// sshdConns counts connections made to the fake sshd.
	sshdConns atomic.Int64
}

func newGuest(t *testing.T) *guest {
	t.Helper()
	dir := t.TempDir()
	g := &guest{keyDir: filepath.Join(dir, "etc", "ssh"), sshAddr: freeAddr(t)}
	writeFile(t, filepath.Join(dir, "usr", "sbin", "sshd"), "#!/bin/false\n")
	writeFile(t, filepath.Join(dir, "proc", "uptime"), "12.50 20.00\n")
	writeFile(t, filepath.Join(dir, "proc", "sys", "kernel", "random", "boot_id"), "0f1e2d3c-boot\n")
	if err := os.MkdirAll(g.keyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	g.opts = Options{
		SSHDPath:     filepath.Join(dir, "usr", "sbin", "sshd"),
		HostKeyDir:   g.keyDir,
		SSHAddr:      g.sshAddr,
		ProcDir:      filepath.Join(dir, "proc"),
		PollInterval: 5 * time.Millisecond,
		DeviceWait:   50 * time.Millisecond,
		Addresses: func() ([]string, error) {
			n := g.probes.Add(1)
			if g.onProbe != nil {
				g.onProbe(n)
			}
			return []string{"172.16.0.2/24"}, nil
		},
	}
	return g
}

// addHostKeys writes ed25519 and rsa public host keys.
func (g *guest) addHostKeys(t *testing.T) []string {
	keys := []string{
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeEd25519Key root@guest",
		"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQFakeRsaKey root@guest",
	}
	writeFile(t, filepath.Join(g.keyDir, "ssh_host_ed25519_key.pub"), keys[0]+"\n")
	writeFile(t, filepath.Join(g.keyDir, "ssh_host_rsa_key.pub"), keys[1]+"\n")
	writeFile(t, filepath.Join(g.keyDir, "ssh_host_ed25519_key"), "private: never reported\n")
	return keys
}

// startSSHD makes sshd listen on the guest's port-22 address: a line
// in the fake procfs's socket table, and a real listener there that
// counts the connections made to it (the agent should make none).
func (g *guest) startSSHD(t *testing.T) {
	ln, err := net.Listen("tcp", g.sshAddr)
	if err != nil {
		t.Errorf("fake sshd on %s: %v", g.sshAddr, err)
		return
	}
	t.Cleanup(func() { ln.Close() })
	ap := netip.MustParseAddrPort(g.sshAddr)
	v4 := ap.Addr().As4()
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", v4[3], v4[2], v4[1], v4[0], ap.Port())
	writeFile(t, filepath.Join(g.opts.ProcDir, "net", "tcp"), procTCPHeader+procTCPLine(local, procnet.StateListen))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.sshdConns.Add(1)
			c.Close()
		}
	}()
}

// procTCPHeader is the first line of /proc/net/tcp.
const procTCPHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

// procTCPLine is a line of /proc/net/tcp for a socket at local (in the
// table's hex form) in state.
func procTCPLine(local, state string) string {
	return "   0: " + local + " 00000000:0000 " + state + " 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0\n"
}

// freeAddr is a loopback TCP address nothing listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
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

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pipeHost serves opts on one end of a pipe and returns the other, the
// host's, with a channel that yields ServeConn's result.
func pipeHost(t *testing.T, opts Options) (net.Conn, <-chan error) {
	t.Helper()
	host, guestEnd := net.Pipe()
	done := make(chan error, 1)
	ctx := testCtx(t)
	go func() { done <- NewServer(opts).ServeConn(ctx, guestEnd) }()
	t.Cleanup(func() { host.Close(); guestEnd.Close() })
	return host, done
}

// rawHost speaks the protocol by hand, to check what is on the wire.
type rawHost struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func newRawHost(t *testing.T, c net.Conn) *rawHost {
	return &rawHost{t: t, c: c, br: bufio.NewReader(c)}
}

// send writes s as is, then reads and decodes one non-empty answer line.
func (h *rawHost) send(s string) agentproto.Response {
	h.t.Helper()
	h.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := h.c.Write([]byte(s)); err != nil {
		h.t.Fatalf("writing %q: %v", s, err)
	}
	return h.read()
}

func (h *rawHost) read() agentproto.Response {
	h.t.Helper()
	for {
		line, err := h.br.ReadBytes('\n')
		if err != nil {
			h.t.Fatalf("reading an answer: %v", err)
		}
		if len(line) == 1 {
			continue
		}
		var r agentproto.Response
		if err := json.Unmarshal(line, &r); err != nil {
			h.t.Fatalf("answer %q is not JSON: %v", line, err)
		}
		return r
	}
}
