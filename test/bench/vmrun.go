package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"banger/internal/api"
	"banger/internal/vmdisk"
)

// rawBridge is the bridge the baseline boots attach their tap to.
const rawBridge = "bbench0"

// sshDeadline bounds one boot's wait for ssh.
const sshDeadline = 4 * time.Minute

// runFigures are `vm run --rm -- true` against QEMU booted by hand.
type runFigures struct {
	banger samples // CLI start to exit, the VM deleted
	ready  samples // CLI start to "ready"
	raw    samples // QEMU exec to `ssh true` ok
}

// measureRuns alternates `banger vm run --rm -- true` with a baseline
// boot of QEMU on the same command line, swapping which goes first each
// round.
func (b *vmBench) measureRuns(raw rawQEMU) (runFigures, error) {
	var f runFigures
	for r := 0; r < b.rounds; r++ {
		name := fmt.Sprintf("run-%d", r)
		viaBanger := func() error {
			total, at, err := b.timedCLI([]string{"==> " + name + " is ready"}, "vm", "run", "--cold", "--rm", "--name", name, "--", "true")
			if err != nil {
				return err
			}
			f.banger, f.ready = append(f.banger, total), append(f.ready, at[0])
			return nil
		}
		byHand := func() error {
			d, err := b.rawBoot(raw, filepath.Join(b.work, "raw-"+name))
			f.raw = append(f.raw, d)
			return err
		}
		steps := []func() error{viaBanger, byHand}
		if r%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return f, err
			}
		}
	}
	return f, nil
}

func runRows(f runFigures) []oneShot {
	return []oneShot{
		{name: "banger vm run --rm -- true (to exit, VM deleted)", value: f.banger.String()},
		{name: "  the same, up to the guest ready", value: f.ready.String()},
		{name: "baseline: QEMU, same command line, exec to `ssh true` ok", value: f.raw.String()},
		ratioRow("vm run --rm -- true / baseline", f.banger, f.raw, 1.15),
	}
}

// rawQEMU is the command line QEMU ran for a VM banger booted, and what
// the baseline needs to run it again without banger.
type rawQEMU struct {
	argv     []string
	runDir   string // the VM's run dir (sockets, pid file, console), in argv
	diskDir  string // the dir of the VM's own disks, in argv
	image    string // the shared image, read-only
	tap      string
	guest    string       // the guest's address
	gateway  netip.Prefix // the host's address on the bridge, with the prefix
	workSize int64
	user     string
	key      string // private key file; its .pub goes on the work disk
}

// captureQEMU reads the command line of the QEMU running VM name, from
// /proc, and the VM's ssh target.
func (b *vmBench) captureQEMU(name string) (rawQEMU, error) {
	var v api.VM
	out, err := b.cli("vm", "show", name, "--json")
	if err == nil {
		err = json.Unmarshal([]byte(out), &v)
	}
	if err != nil {
		return rawQEMU{}, err
	}
	pids, _ := filepath.Glob(filepath.Join(envValue(b.env, "XDG_RUNTIME_DIR"), "banger", "vm", "*", "qemu.pid"))
	if len(pids) != 1 {
		return rawQEMU{}, fmt.Errorf("want one QEMU pid file with VM %s alone running, found %q", name, pids)
	}
	pidText, err := os.ReadFile(pids[0])
	if err != nil {
		return rawQEMU{}, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		return rawQEMU{}, fmt.Errorf("QEMU pid file %s: %w", pids[0], err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return rawQEMU{}, fmt.Errorf("reading QEMU's command line: %w", err)
	}
	target, err := b.api.VMSSH(b.ctx, name)
	if err != nil {
		return rawQEMU{}, err
	}
	q := rawQEMU{
		argv:     strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"),
		runDir:   filepath.Dir(pids[0]),
		guest:    v.IP,
		workSize: v.DiskBytes,
		user:     target.User,
		key:      target.Key,
	}
	return q, q.parse()
}

// parse finds the disks, the tap and the bridge address in argv.
func (q *rawQEMU) parse() error {
	for i := 0; i+1 < len(q.argv); i++ {
		opts := optMap(q.argv[i+1])
		switch q.argv[i] {
		case "-drive":
			switch opts["id"] {
			case "root":
				q.image = opts["file"]
			case "work":
				q.diskDir = filepath.Dir(opts["file"])
			}
		case "-netdev":
			q.tap = opts["ifname"]
		case "-append":
			for _, f := range strings.Fields(q.argv[i+1]) {
				if ip, ok := strings.CutPrefix(f, "ip="); ok {
					q.gateway = gatewayOf(ip)
				}
			}
		}
	}
	if q.image == "" || q.diskDir == "" || q.tap == "" || !q.gateway.IsValid() || q.guest == "" {
		return fmt.Errorf("QEMU's command line lacks a root or work disk, a tap or an ip= address: %q", q.argv)
	}
	return nil
}

// optMap splits a QEMU option string, k=v,k=v (commas in values doubled).
func optMap(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(strings.ReplaceAll(s, ",,", "\x00"), ",") {
		k, v, _ := strings.Cut(strings.ReplaceAll(kv, "\x00", ","), "=")
		m[k] = v
	}
	return m
}

// gatewayOf reads the gateway and netmask of an ip= kernel argument,
// client::gw:netmask:...
func gatewayOf(arg string) netip.Prefix {
	f := strings.Split(arg, ":")
	if len(f) < 4 {
		return netip.Prefix{}
	}
	gw, err := netip.ParseAddr(f[2])
	mask := net.ParseIP(f[3]).To4()
	if err != nil || mask == nil {
		return netip.Prefix{}
	}
	bits, _ := net.IPMask(mask).Size()
	return netip.PrefixFrom(gw, bits)
}

// rawBoot boots QEMU on q's command line in the namespace, with fresh
// disks made as banger makes them and its own bridge and tap, and returns
// the time from starting QEMU to `ssh true` succeeding. Disks and network
// are made before the clock starts.
func (b *vmBench) rawBoot(q rawQEMU, dir string) (time.Duration, error) {
	defer os.RemoveAll(dir)
	disks, run := filepath.Join(dir, "disks"), filepath.Join(dir, "run")
	for _, d := range []string{disks, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return 0, err
		}
	}
	if _, err := vmdisk.PrepareRoot(b.ctx, q.image, disks); err != nil {
		return 0, err
	}
	pub, err := os.ReadFile(q.key + ".pub")
	if err != nil {
		return 0, err
	}
	if err := vmdisk.BuildWork(b.ctx, vmdisk.WorkOptions{Path: filepath.Join(disks, "work.ext4"), Size: q.workSize, AuthorizedKeys: pub}); err != nil {
		return 0, err
	}
	argv := make([]string, len(q.argv))
	for i, a := range q.argv {
		argv[i] = strings.ReplaceAll(strings.ReplaceAll(a, q.runDir, run), q.diskDir, disks)
	}
	if err := b.rawNetwork(q); err != nil {
		return 0, err
	}
	defer b.ns.ip("link", "del", rawBridge)
	defer b.ns.ip("link", "del", q.tap)
	start := time.Now()
	exited, stop, err := b.ns.startByHand(b.ctx, argv, filepath.Join(dir, "qemu.log"))
	if err != nil {
		return 0, err
	}
	defer stop()
	if err := b.waitSSH(q, exited); err != nil {
		qlog, _ := os.ReadFile(filepath.Join(dir, "qemu.log"))
		console, _ := os.ReadFile(filepath.Join(run, "console.log"))
		return 0, fmt.Errorf("baseline boot: %w\nQEMU's log:\n%s\nconsole:\n%s", err, lastLines(string(qlog), 10), lastLines(string(console), 15))
	}
	d := time.Since(start)
	b.logf("baseline QEMU boot to ssh true: %s", secs(d))
	return d, nil
}

// rawNetwork makes the baseline's bridge, with the host's address, and
// q's tap on it. banger's own bridge must be gone, or two links would
// claim the subnet.
func (b *vmBench) rawNetwork(q rawQEMU) error {
	out, err := b.ns.command(b.ctx, "ip", "-o", "addr", "show", "to", q.gateway.Addr().String()).Output()
	if err != nil {
		return fmt.Errorf("listing the namespace's addresses: %w", err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		return fmt.Errorf("the namespace still has the gateway address (banger's bridge was not removed): %s", s)
	}
	for _, args := range [][]string{
		{"link", "add", rawBridge, "type", "bridge"},
		{"addr", "add", q.gateway.String(), "dev", rawBridge},
		{"link", "set", rawBridge, "up"},
		{"tuntap", "add", "dev", q.tap, "mode", "tap"},
		{"link", "set", q.tap, "master", rawBridge, "up"},
	} {
		if err := b.ns.ip(args...); err != nil {
			return err
		}
	}
	return nil
}

// waitSSH waits for the guest's sshd to send its banner, then for `ssh
// true` to succeed, as a user scripting QEMU would.
func (b *vmBench) waitSSH(q rawQEMU, exited <-chan struct{}) error {
	deadline := time.Now().Add(sshDeadline)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	addr := net.JoinHostPort(q.guest, "22")
	for {
		if sshBanner(b.ns, addr) {
			err := b.ns.command(b.ctx, "ssh", "-i", q.key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
				"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
				q.user+"@"+q.guest, "true").Run()
			if err == nil {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("QEMU exited before ssh answered")
		case <-b.ctx.Done():
			return b.ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no ssh within %s", sshDeadline)
		}
	}
}

// sshBanner reports whether an sshd answers at addr in the namespace.
func sshBanner(ns *netNS, addr string) bool {
	conn, err := ns.dial(addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-")
}
