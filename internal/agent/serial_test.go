package agent

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentclient"
)

// virtioPort fakes a virtio-serial port as the guest sees it: one
// long-lived file that reads end of stream while no host is connected and
// carries each host connection in turn. Each connection is a socket pair.
type virtioPort struct {
	mu    sync.Mutex
	guest *os.File
	// lateEOF, when set, is closed by the next read, which reports end of
	// stream though the host stays (see staleEOF).
	lateEOF chan struct{}
}

func newVirtioPort(t *testing.T) *virtioPort {
	p := &virtioPort{}
	// Start with no host: a pair whose host end is already closed.
	host := p.connect(t)
	host.Close()
	return p
}

// connect plugs a new host in and returns its end.
func (p *virtioPort) connect(t *testing.T) *os.File {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	host, guest := os.NewFile(uintptr(fds[0]), "host"), os.NewFile(uintptr(fds[1]), "guest")
	p.mu.Lock()
	old := p.guest
	p.guest = guest
	p.mu.Unlock()
	if old != nil {
		old.Close()
	}
	t.Cleanup(func() { host.Close(); guest.Close() })
	return host
}

func (p *virtioPort) cur() *os.File {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.guest
}

func (p *virtioPort) Read(b []byte) (int, error) {
	p.mu.Lock()
	late := p.lateEOF
	p.lateEOF = nil
	p.mu.Unlock()
	if late != nil {
		close(late)
		return 0, io.EOF
	}
	n, err := p.cur().Read(b)
	if err != nil && strings.Contains(err.Error(), "file already closed") {
		return n, io.EOF // a new host replaced the one being read: it left
	}
	return n, err
}

// staleEOF makes the guest read one end of stream while host stays
// connected, as the late notice that an earlier host closed the port
// does, and returns once the guest has read it. host's newline wakes the
// guest's reader up.
func (p *virtioPort) staleEOF(t *testing.T, host *os.File) {
	t.Helper()
	late := make(chan struct{})
	p.mu.Lock()
	p.lateEOF = late
	p.mu.Unlock()
	if _, err := host.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-late:
	case <-testCtx(t).Done():
		t.Fatal("the guest never read the end of stream")
	}
}

func (p *virtioPort) Write(b []byte) (int, error)        { return p.cur().Write(b) }
func (p *virtioPort) SetReadDeadline(t time.Time) error  { return p.cur().SetReadDeadline(t) }
func (p *virtioPort) SetWriteDeadline(t time.Time) error { return p.cur().SetWriteDeadline(t) }

func TestSerialServesAcrossHostReconnects(t *testing.T) {
	g := newGuest(t)
	g.addHostKeys(t)
	g.startSSHD(t)
	port := newVirtioPort(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	served := make(chan error, 1)
	go func() { served <- NewServer(g.opts).servePort(ctx, port) }()

	for i := range 3 {
		host := port.connect(t)
		c := agentclient.NewConn(host)
		if h, err := c.Hello(testCtx(t)); err != nil || h.BootID != "0f1e2d3c-boot" {
			t.Fatalf("connection %d: hello = %+v, %v", i, h, err)
		}
		if st, err := c.Status(testCtx(t)); err != nil || !st.Ready {
			t.Fatalf("connection %d: status = %+v, %v", i, st, err)
		}
		// The host leaves mid-request, as a daemon killed while writing
		// would: the half line must not spoil the next connection.
		host.Write([]byte(`{"v":1,"id":99,"op":"sta`))
		c.Close()
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("servePort = %v; want nil once stopped", err)
	}
}

// openPty opens a pseudo-terminal pair and returns the host (master) end
// and the path of the guest (slave) end.
func openPty(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ierr error
	rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr == nil {
			n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	})
	if ierr != nil {
		t.Fatalf("setting up the pty: %v", ierr)
	}
	return m, filepath.Join("/dev/pts", strconv.Itoa(n))
}

// TestSerialOverPty serves a real character device found through a
// symlink, as udev makes one, and shows a new host connection on the same
// stream resynchronising past what an abandoned one left behind.
func TestSerialOverPty(t *testing.T) {
	g := newGuest(t)
	master, slave := openPty(t)
	link := filepath.Join(t.TempDir(), "banger.agent")
	if err := os.Symlink(slave, link); err != nil {
		t.Fatal(err)
	}
	g.opts.SerialPath = link
	ctx, cancel := context.WithCancel(testCtx(t))
	served := make(chan error, 1)
	go func() { served <- NewServer(g.opts).Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve = %v", err)
		}
	}()

	// The first host asks for a long wait-ready and gives up on it; its
	// answer, when it comes, lands in front of the next host.
	first := agentclient.NewConn(nopCloser{master})
	if _, err := first.Hello(testCtx(t)); err != nil {
		t.Fatalf("hello over the pty: %v", err)
	}
	short, stop := context.WithTimeout(testCtx(t), 20*time.Millisecond)
	if _, err := first.WaitReady(short, 200*time.Millisecond); err == nil {
		t.Fatal("wait-ready on a guest without sshd listening succeeded")
	}
	stop()
	master.Write([]byte(`{"v":1,"id":77,"op":"hel`)) // and a half request

	second := agentclient.NewConn(nopCloser{master})
	h, err := second.Hello(testCtx(t))
	if err != nil || h.BootID != "0f1e2d3c-boot" {
		t.Fatalf("hello on the reused stream = %+v, %v; want the guest's hello", h, err)
	}
	g.addHostKeys(t)
	g.startSSHD(t)
	if st, err := second.WaitReady(testCtx(t), time.Minute); err != nil || !st.Ready {
		t.Fatalf("wait-ready on the reused stream = %+v, %v; want ready", st, err)
	}
}

// nopCloser keeps the pty open when a Conn is dropped.
type nopCloser struct{ *os.File }

func (nopCloser) Close() error { return nil }

func TestFindSerialPortThroughSysfs(t *testing.T) {
	g := newGuest(t)
	sys, dev := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(sys, "vport1p1", "name"), "org.qemu.guest_agent.0\n")
	writeFile(t, filepath.Join(sys, "vport1p2", "name"), "banger.agent\n")
	writeFile(t, filepath.Join(dev, "vport1p1"), "")
	writeFile(t, filepath.Join(dev, "vport1p2"), "")
	g.opts.SerialPath = filepath.Join(dev, "virtio-ports", "banger.agent") // no udev: missing
	g.opts.SerialName, g.opts.SysVirtioPorts, g.opts.DevDir = "banger.agent", sys, dev
	s := NewServer(g.opts)
	if got := s.findSerialPort(); got != filepath.Join(dev, "vport1p2") {
		t.Errorf("findSerialPort = %q; want the port named banger.agent, %s", got, filepath.Join(dev, "vport1p2"))
	}
	writeFile(t, g.opts.SerialPath, "")
	if got := s.findSerialPort(); got != g.opts.SerialPath {
		t.Errorf("findSerialPort = %q; want the udev name %s once it exists", got, g.opts.SerialPath)
	}
}

func TestServeWithoutAnyChannelFails(t *testing.T) {
	g := newGuest(t)
	g.opts.SerialPath = filepath.Join(t.TempDir(), "banger.agent")
	g.opts.SerialName = "banger.agent"
	g.opts.SysVirtioPorts = t.TempDir()
	err := NewServer(g.opts).Serve(testCtx(t))
	if err == nil || !strings.Contains(err.Error(), "no channel to the host") || !strings.Contains(err.Error(), "banger.agent") {
		t.Fatalf("Serve = %v; want an error naming the missing port", err)
	}
}
