package vmmtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"banger/internal/agent"
	"banger/internal/agent/agentproto"
	"banger/internal/vmm"
)

// Guest says how the guests of the VMs a Driver boots behave.
type Guest int

const (
	// GuestReady: the agent answers and the guest is ready (the default).
	GuestReady Guest = iota
	// GuestNotReady: the agent answers, but the guest never gets ready
	// (its sshd has no host key) until SetReady says otherwise.
	GuestNotReady
	// GuestSilent: the agent socket accepts connections, and nothing
	// ever answers on them (the guest never started its agent).
	GuestSilent
	// GuestAbsent: there is no agent socket at all.
	GuestAbsent
	// GuestCrash: the VMM exits as soon as it started; Start and Restore
	// succeed, and the VM is stopped by the time they return.
	GuestCrash
)

// guest serves one boot's agent on the VM's agent socket.
type guest struct {
	dir    string // the guest's files: procfs stand-ins, sshd, commands' work dir
	sshd   string // exists while the guest is not ready
	hybrid bool   // connections start with Firecracker's CONNECT handshake
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	conns map[net.Conn]bool
}

// serveGuest gives v its guest, as d's mode says. d.mu is held.
func (d *Driver) serveGuest(v *vm) error {
	if d.mode == GuestAbsent || d.mode == GuestCrash {
		return nil
	}
	dir, err := os.MkdirTemp("", "vmmtest-guest-")
	if err != nil {
		return err
	}
	d.dirs = append(d.dirs, dir)
	g := &guest{dir: dir, sshd: filepath.Join(dir, "sshd"), hybrid: d.name == "firecracker", conns: map[net.Conn]bool{}}
	if err := g.writeProc(v.bootID); err != nil {
		return err
	}
	if d.mode == GuestNotReady {
		if err := g.setReady(false); err != nil {
			return err
		}
	}
	os.Remove(v.spec.AgentSocket) // a stale socket of an earlier boot
	if g.ln, err = net.Listen("unix", v.spec.AgentSocket); err != nil {
		return fmt.Errorf("serving the fake agent: %w", err)
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	h := hooks{d: d, v: v, g: g}
	var srv *agent.Server
	if d.mode != GuestSilent {
		srv = agent.NewServer(h.agentOptions())
	}
	v.guest = g
	d.work.Go(func() { h.accept(srv) })
	return nil
}

// agentOptions are a real agent's options that reach nothing outside the
// guest's temp dir and the VM's record.
func (h hooks) agentOptions() agent.Options {
	g := h.g
	return agent.Options{
		SSHDPath:     g.sshd,
		HostKeyDir:   filepath.Join(g.dir, "ssh"),
		SSHAddr:      "127.0.0.1:1", // never dialled: there is never a host key
		ProcDir:      filepath.Join(g.dir, "proc"),
		Filesystems:  []string{g.dir},
		PollInterval: 10 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
		Addresses:    func() ([]string, error) { return []string{"172.16.0.2/24"}, nil },
		Hostname:     h.hostname,
		Poweroff:     func() error { h.poweroff(); return nil },
		Identify:     func(_ context.Context, id agentproto.Identity) error { return h.identify(id) },
		SetClock:     h.setClock,
		Command:      h.command,
	}
}

// accept serves each host connection in turn, concurrently, until the
// guest stops; srv nil leaves them unanswered.
func (h hooks) accept(srv *agent.Server) {
	g := h.g
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		if !g.track(c) {
			c.Close()
			return
		}
		h.d.work.Go(func() {
			defer g.untrack(c)
			if srv == nil || !h.awaitUnpaused(g.ctx) {
				<-g.ctx.Done()
				return
			}
			if g.hybrid && acceptConnect(c) != nil {
				return
			}
			srv.ServeConn(g.ctx, c)
		})
	}
}

// acceptConnect answers the CONNECT line a host sends Firecracker's
// hybrid vsock socket. It reads byte by byte: what follows the line is
// the agent's.
func acceptConnect(c net.Conn) error {
	var line []byte
	b := make([]byte, 1)
	for len(line) < 64 {
		if _, err := c.Read(b); err != nil {
			return err
		}
		if b[0] == '\n' {
			if !strings.HasPrefix(string(line), "CONNECT ") {
				return fmt.Errorf("vsock handshake %q is not CONNECT", line)
			}
			_, err := c.Write([]byte("OK 1073741824\n"))
			return err
		}
		line = append(line, b[0])
	}
	return fmt.Errorf("vsock handshake %q is too long", line)
}

// awaitUnpaused waits while the VM is paused: a paused guest answers
// nothing.
func (h hooks) awaitUnpaused(ctx context.Context) bool {
	for {
		h.d.mu.Lock()
		st, changed := h.v.state, h.v.changed
		h.d.mu.Unlock()
		if st == vmm.StateRunning {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

func (g *guest) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ctx.Err() != nil {
		return false
	}
	g.conns[c] = true
	return true
}

func (g *guest) untrack(c net.Conn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
	c.Close()
}

// stop ends the guest: no more connections, and the open ones close. It
// does not wait for the goroutines serving them (Driver.Close does).
func (g *guest) stop() {
	g.mu.Lock()
	g.cancel()
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	g.ln.Close()
}

// writeProc writes the procfs files the agent reads.
func (g *guest) writeProc(bootID string) error {
	rnd := filepath.Join(g.dir, "proc", "sys", "kernel", "random")
	if err := os.MkdirAll(rnd, 0o755); err != nil {
		return err
	}
	for name, text := range map[string]string{
		"uptime":  "1.00 1.00\n",
		"meminfo": "MemTotal: 1048576 kB\nMemFree: 524288 kB\nMemAvailable: 786432 kB\n",
		"loadavg": "0.25 0.50 0.75 1/80 123\n",
	} {
		if err := os.WriteFile(filepath.Join(g.dir, "proc", name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(rnd, "boot_id"), []byte(bootID+"\n"), 0o644)
}

// newBootID is a random boot id, as the kernel makes one.
func newBootID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
