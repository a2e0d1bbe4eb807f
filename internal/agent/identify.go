package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
	"banger/internal/atomicfile"
	"banger/internal/guestinit"
)

// identifyOnce guards identify: a guest takes one identity per boot, or
// per snapshot it was saved in (prepareSnapshot re-arms it).
type identifyOnce struct {
	mu   sync.Mutex
	done bool
}

// identify gives a guest restored from a template its own identity, then
// answers like wait-ready.
func (s *Server) identify(ctx context.Context, req agentproto.Request) agentproto.Response {
	if req.Identity == nil {
		return failure(req, agentproto.CodeBadRequest, "identify without an identity")
	}
	if s.opts.Identify == nil {
		return failure(req, agentproto.CodeFailed, "this agent cannot change the guest's identity")
	}
	s.once.mu.Lock()
	if s.once.done {
		s.once.mu.Unlock()
		return failure(req, agentproto.CodeFailed, "this guest already took an identity since it booted")
	}
	s.once.done = true
	s.once.mu.Unlock()
	if err := s.opts.Identify(ctx, *req.Identity); err != nil {
		s.log.Error("identify", "err", err)
		return failure(req, agentproto.CodeFailed, "taking the new identity: "+err.Error())
	}
	return s.waitReady(ctx, req)
}

// prepareSnapshot readies a running guest to be saved: its disks are
// flushed, so the copies the host makes next hold what the guest wrote, and
// the guest may take a new identity once, which is what each VM restored
// from the snapshot does.
func (s *Server) prepareSnapshot(req agentproto.Request) agentproto.Response {
	if s.opts.Sync != nil {
		s.opts.Sync()
	}
	s.once.mu.Lock()
	s.once.done = false
	s.once.mu.Unlock()
	return success(req, agentproto.Response{})
}

// identifyLog records how long each identity step took.
const identifyLog = "/run/banger/identify.log"

// identifyGuest is Options.Identify on a real guest. The order matters:
// the clock and the entropy first (the keys made later depend on them),
// the work disk before sshd restarts (authorized_keys lives there).
func identifyGuest(ctx context.Context, id agentproto.Identity) error {
	type step struct {
		name string
		run  func() error
	}
	first := []step{
		{"clock", func() error { return setClock(id.TimeUnixNano) }},
		{"entropy", func() error { return addEntropy(id.Entropy) }},
		{"machine id", newMachineID},
		{"boot id", newBootID},
		{"hostname", func() error { return setHostname(id.Hostname) }},
	}
	var timesMu sync.Mutex
	var times []string
	timed := func(st step) error {
		began := time.Now()
		err := st.run()
		timesMu.Lock()
		times = append(times, fmt.Sprintf("%s %v", st.name, time.Since(began).Round(time.Millisecond)))
		timesMu.Unlock()
		return err
	}
	// What each step took, for whoever wonders where a restore's time went.
	defer func() { _ = atomicfile.WriteFile(identifyLog, []byte(strings.Join(times, "\n")+"\n"), 0o644) }()
	for _, st := range first {
		if err := timed(st); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	// These wait on other programs (networkd, sshd, the disk) and do not
	// depend on each other: run together, they cost the slowest one.
	then := []step{
		{"work disk", func() error { return mountWorkDisk(id.WorkDevice) }},
		{"network", func() error { return configureNetwork(ctx, id) }},
		{"ssh host key", func() error { return newHostKey(ctx) }},
	}
	errs := make([]error, len(then))
	var wg sync.WaitGroup
	for i, st := range then {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := timed(st); err != nil {
				errs[i] = fmt.Errorf("%s: %w", st.name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func setClock(unixNano int64) error {
	if unixNano <= 0 {
		return nil
	}
	ts := unix.NsecToTimespec(unixNano)
	return unix.ClockSettime(unix.CLOCK_REALTIME, &ts)
}

// Linux's random ioctls (include/uapi/linux/random.h).
const (
	rndAddEntropy  = 0x40085203
	rndReseedCRNG  = 0x5207
	maxEntropySize = 512
)

// addEntropy mixes the host's bytes into the kernel's pool, credits them
// and reseeds, so the clone's random numbers part from the template's.
func addEntropy(b []byte) error {
	if len(b) == 0 {
		return errors.New("the host sent no entropy")
	}
	b = b[:min(len(b), maxEntropySize)]
	f, err := os.OpenFile("/dev/urandom", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
	info := make([]byte, 8+len(b))
	*(*int32)(unsafe.Pointer(&info[0])) = int32(len(b) * 8)
	*(*int32)(unsafe.Pointer(&info[4])) = int32(len(b))
	copy(info[8:], b)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), rndAddEntropy, uintptr(unsafe.Pointer(&info[0]))); errno != 0 {
		return fmt.Errorf("RNDADDENTROPY: %w", errno)
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), rndReseedCRNG, 0); errno != 0 {
		return fmt.Errorf("RNDRESEEDCRNG: %w", errno)
	}
	return nil
}

func newMachineID() error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return atomicfile.WriteFile("/etc/machine-id", []byte(hex.EncodeToString(b)+"\n"), 0o444)
}

// bootIDPath is the kernel's boot id. It is made once per boot and cannot
// be written, so a clone gets its own by a bind mount over it: readers of
// the file see the clone's id, while processes that read it before the
// snapshot (journald) keep the template's.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

func newBootID() error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	id := fmt.Sprintf("%x-%x-%x-%x-%x\n", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	if err := os.MkdirAll("/run/banger", 0o755); err != nil {
		return err
	}
	src := "/run/banger/boot_id"
	if err := os.WriteFile(src, []byte(id), 0o444); err != nil {
		return err
	}
	if err := unix.Mount(src, bootIDPath, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting over %s: %w", bootIDPath, err)
	}
	return nil
}

func setHostname(name string) error {
	if name == "" {
		return nil
	}
	if err := unix.Sethostname([]byte(name)); err != nil {
		return err
	}
	if err := atomicfile.WriteFile("/etc/hostname", []byte(name+"\n"), 0o644); err != nil {
		return err
	}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(strings.TrimRight(string(hosts), "\n"), "\n") {
		if strings.HasPrefix(line, "127.0.1.1") {
			line = "127.0.1.1\t" + name
		}
		out = append(out, line)
	}
	return atomicfile.WriteFile("/etc/hosts", []byte(strings.Join(out, "\n")+"\n"), 0o644)
}

func mountWorkDisk(dev string) error {
	if dev == "" {
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(dev); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no device %s", dev)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err := guestinit.MountWork(dev, "/run/banger/work-stage", "/root")
	return err
}

// networkFile is where the restored guest's address goes: the name
// systemd-network-generator uses for ip= on a cold boot, so networkd
// applies it the same way, DNS included.
const networkFile = "/run/systemd/network/70-eth0.network"

// configureNetwork gives the interface its MAC and address.
func configureNetwork(ctx context.Context, id agentproto.Identity) error {
	if id.Address == "" {
		return nil
	}
	prefix, err := netip.ParsePrefix(id.Address)
	if err != nil {
		return fmt.Errorf("address %q: %w", id.Address, err)
	}
	link, err := netlink.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("finding eth0: %w", err)
	}
	if id.MAC != "" {
		mac, err := net.ParseMAC(id.MAC)
		if err != nil {
			return fmt.Errorf("MAC %q: %w", id.MAC, err)
		}
		// virtio-net changes its address while up; taking the link down
		// would make networkd drop and redo its configuration later, after
		// we saw it applied.
		if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
			if err := netlink.LinkSetDown(link); err != nil {
				return err
			}
			if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
				return fmt.Errorf("setting MAC %s: %w", mac, err)
			}
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Written by banger-vsock-agent for this VM, restored from a template.\n[Match]\nName=eth0\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n")
	fmt.Fprintf(&b, "Address=%s\n", prefix)
	if id.Gateway != "" {
		fmt.Fprintf(&b, "Gateway=%s\n", id.Gateway)
	}
	for _, d := range id.DNS {
		fmt.Fprintf(&b, "DNS=%s\n", d)
	}
	if err := os.MkdirAll(filepath.Dir(networkFile), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(networkFile, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if _, err := exec.LookPath("networkctl"); err != nil {
		// No networkd (an OCI image): set the address by hand.
		addr, err := netlink.ParseAddr(prefix.String())
		if err != nil {
			return err
		}
		if err := netlink.AddrReplace(link, addr); err != nil {
			return err
		}
		if id.Gateway != "" {
			gw := net.ParseIP(id.Gateway)
			if err := netlink.RouteReplace(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw}); err != nil {
				return err
			}
		}
		announce(link, prefix.Addr())
		return nil
	}
	// reload alone applies the new file: networkd reconfigures a link
	// whose .network file changed (a reconfigure on top of it would take
	// the address away again for a moment, after we saw it).
	if out, err := exec.CommandContext(ctx, "networkctl", "reload").CombinedOutput(); err != nil {
		return fmt.Errorf("networkctl reload: %w: %s", err, out)
	}
	if err := waitAddress(ctx, link, prefix.Addr(), id.Gateway != ""); err != nil {
		return err
	}
	announce(link, prefix.Addr())
	return nil
}

// announce broadcasts a gratuitous ARP for addr from link's MAC, best
// effort. The host may have started resolving the address while the guest
// was still taking it (a VM that had it a moment before, say); its pending
// lookup would fail seconds later and fail the connections queued on it
// ("No route to host"). The announcement answers it at once.
func announce(link netlink.Link, addr netip.Addr) {
	link, err := netlink.LinkByIndex(link.Attrs().Index) // its MAC as it is now
	if err != nil {
		return
	}
	mac := link.Attrs().HardwareAddr
	if !addr.Is4() || len(mac) != 6 {
		return
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
	if err != nil {
		return
	}
	defer unix.Close(fd)
	broadcast := [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: link.Attrs().Index, Halen: 6, Addr: broadcast}
	_ = unix.Sendto(fd, garpFrame(mac, addr), 0, to)
}

// garpFrame is an Ethernet frame holding a gratuitous ARP request: sender
// and target are both addr at mac.
func garpFrame(mac net.HardwareAddr, addr netip.Addr) []byte {
	ip := addr.As4()
	f := make([]byte, 0, 42)
	f = append(f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // to everyone
	f = append(f, mac...)
	f = append(f, 0x08, 0x06)             // ARP
	f = append(f, 0x00, 0x01, 0x08, 0x00) // Ethernet, IPv4
	f = append(f, 6, 4, 0x00, 0x01)       // address sizes, request
	f = append(f, mac...)
	f = append(f, ip[:]...)
	f = append(f, 0, 0, 0, 0, 0, 0)
	return append(f, ip[:]...)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// waitAddress waits for networkd to put addr on link and, with route,
// the default route, which it adds last.
func hasAddr(link netlink.Link, addr netip.Addr) bool {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == addr {
			return true
		}
	}
	return false
}

// networkdConfigured reports whether networkd has finished configuring
// link (its state file says so); true where networkd keeps no such file.
func networkdConfigured(link netlink.Link) bool {
	b, err := os.ReadFile(fmt.Sprintf("/run/systemd/netif/links/%d", link.Attrs().Index))
	if err != nil {
		return true
	}
	return strings.Contains(string(b), "ADMIN_STATE=configured")
}

func hasDefaultRoute(link netlink.Link) bool {
	routes, err := netlink.RouteList(link, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			return true
		}
	}
	return false
}

func waitAddress(ctx context.Context, link netlink.Link, addr netip.Addr, route bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if hasAddr(link, addr) && (!route || hasDefaultRoute(link)) && networkdConfigured(link) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("networkd did not set %s on eth0", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newHostKey replaces the template's ssh host keys with a fresh ed25519
// key and restarts sshd, so no two clones share a host key.
func newHostKey(ctx context.Context) error {
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		return nil
	}
	old, _ := filepath.Glob("/etc/ssh/ssh_host_*")
	for _, p := range old {
		os.Remove(p)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	hostname, _ := os.Hostname()
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " root@" + hostname + "\n"
	if err := atomicfile.WriteFile("/etc/ssh/ssh_host_ed25519_key", pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	if err := atomicfile.WriteFile("/etc/ssh/ssh_host_ed25519_key.pub", []byte(line), 0o644); err != nil {
		return err
	}
	return reloadSSHD(ctx)
}

// sshdPIDFile is where Debian's sshd writes its listener's pid.
const sshdPIDFile = "/run/sshd.pid"

// reloadSSHD makes sshd load the new host key. SIGHUP makes it execute
// itself again (same pid), much faster than a restart through systemd;
// it is done when a new listening socket has replaced the old one, so no
// connection reaches the old key after the host is told the new one.
// Without a pid file, systemd restarts it.
func reloadSSHD(ctx context.Context) error {
	b, err := os.ReadFile(sshdPIDFile)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || perr != nil || pid <= 1 {
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
	suffix := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			// sl local_address rem_address st ... inode (10th)
			if len(fields) >= 10 && strings.HasSuffix(fields[1], suffix) && fields[3] == "0A" {
				out = append(out, fields[9])
			}
		}
	}
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
