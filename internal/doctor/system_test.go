package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestTools(t *testing.T) {
	h := goodHost()
	for _, tl := range tools {
		expect(t, checkTool(h, tl), Pass, "/")
	}
	h.paths = map[string]string{}
	for _, tl := range tools {
		r := checkTool(h, tl)
		expect(t, r, Fail, "not found")
		if r.Fix != "sudo apt-get install "+tl.pkg {
			t.Errorf("%s: fix %q", tl.name, r.Fix)
		}
	}
}

func TestPrivileges(t *testing.T) {
	h := goodHost()
	bin := func() (string, error) { return "/usr/local/bin/bangerd", nil }
	ctx := context.Background()
	expect(t, checkPrivileges(ctx, h, bin), Pass, "running as root")
	h.euid = 1000
	h.sudo = true
	expect(t, checkPrivileges(ctx, h, bin), Pass, "passwordless sudo for /usr/local/bin/bangerd")
	h.sudo = false
	r := checkPrivileges(ctx, h, bin)
	expect(t, r, Warn, "network setup needs root")
	if !strings.Contains(r.Fix, "NOPASSWD: /usr/local/bin/bangerd net *") {
		t.Fatalf("fix %q", r.Fix)
	}
}

// TestPrivilegesRefusesUnsafeBangerd: a bangerd a user could replace is
// reported, with why, and no sudoers line is offered for it.
func TestPrivilegesRefusesUnsafeBangerd(t *testing.T) {
	h := goodHost()
	h.euid, h.sudo = 1000, true
	h.unsafe = errors.New("bangerd at /home/u/go/bin/bangerd is not safe to run as root: it is writable by uid 1000, its owner")
	r := checkPrivileges(context.Background(), h, func() (string, error) { return "/home/u/go/bin/bangerd", nil })
	expect(t, r, Fail, "is writable by uid 1000")
	if !strings.Contains(r.Fix, "sudo make install") || strings.Contains(r.Fix, "NOPASSWD") {
		t.Fatalf("fix %q, want advice to install it root-owned and no sudoers line", r.Fix)
	}
}

func TestTun(t *testing.T) {
	h := goodHost()
	expect(t, checkTun(h), Pass, tunDevice)
	delete(h.files, tunDevice)
	r := checkTun(h)
	expect(t, r, Fail, "cannot get a network interface")
	if !strings.Contains(r.Fix, "modprobe tun") {
		t.Fatalf("fix %q", r.Fix)
	}
}

func TestDisk(t *testing.T) {
	h := goodHost()
	dir := "/var/lib/banger/state"
	h.free = 53*gib + gib/5
	expect(t, checkDisk(h, dir), Pass, "53.2 GiB free in "+dir)
	if h.freeAt != "/var/lib" {
		t.Fatalf("free space asked of %q, want nearest existing ancestor /var/lib", h.freeAt)
	}
	h.free = 5 * gib
	expect(t, checkDisk(h, dir), Warn, "5.0 GiB free")
	h.free = gib
	expect(t, checkDisk(h, dir), Fail, "1.0 GiB free")
	h.freeErr = errors.New("no such device")
	expect(t, checkDisk(h, dir), Warn, "cannot read free space")
}

func TestDaemon(t *testing.T) {
	running := func(context.Context) (DaemonStatus, error) {
		return DaemonStatus{Running: true, Version: "v1.2.3", PID: 42}, nil
	}
	stopped := func(context.Context) (DaemonStatus, error) { return DaemonStatus{Socket: "/run/b.sock"}, nil }
	broken := func(context.Context) (DaemonStatus, error) { return DaemonStatus{}, errors.New("version mismatch") }
	found := func() (string, error) { return "/usr/local/bin/bangerd", nil }
	missing := func() (string, error) { return "", errors.New("no bangerd") }
	ctx := context.Background()

	expect(t, checkDaemon(ctx, Options{Daemon: running, DaemonBin: missing}), Pass, "bangerd v1.2.3 running (pid 42)")
	expect(t, checkDaemon(ctx, Options{Daemon: stopped, DaemonBin: found}), Pass,
		"not running; starts on first use from /usr/local/bin/bangerd")
	r := checkDaemon(ctx, Options{Daemon: stopped, DaemonBin: missing})
	expect(t, r, Fail, "not running")
	if !strings.Contains(r.Fix, "make install") {
		t.Fatalf("fix %q", r.Fix)
	}
	expect(t, checkDaemon(ctx, Options{Daemon: broken, DaemonBin: found}), Fail, "version mismatch")
	unreachable := func(context.Context) (DaemonStatus, error) {
		return DaemonStatus{}, errdefs.FailedPrecondition("cannot reach bangerd: runtime dir /run/b is a file, not a directory; set XDG_RUNTIME_DIR")
	}
	r = checkDaemon(ctx, Options{Daemon: unreachable, DaemonBin: found})
	expect(t, r, Fail, "cannot reach bangerd: runtime dir /run/b is a file")
	if strings.Contains(r.Fix, "daemon logs") {
		t.Errorf("fix %q points at the log for a problem the log does not hold", r.Fix)
	}
}

// TestDaemonWebUIOff: a daemon whose web UI could not open is a warning
// that says why and how to get the web UI back.
func TestDaemonWebUIOff(t *testing.T) {
	webOff := func(context.Context) (DaemonStatus, error) {
		return DaemonStatus{Running: true, Version: "v1.2.3", PID: 42, WebError: "listen tcp 127.0.0.1:7777: bind: address already in use"}, nil
	}
	r := checkDaemon(context.Background(), Options{Daemon: webOff})
	expect(t, r, Warn, "web UI is off: listen tcp 127.0.0.1:7777: bind: address already in use")
	if !strings.Contains(r.Fix, "web_listen_addr") || !strings.Contains(r.Fix, "banger daemon stop") {
		t.Fatalf("fix %q", r.Fix)
	}
}

func TestDefaults(t *testing.T) {
	r := checkDefaults(Options{ConfigPath: "/home/u/.config/banger/config.toml", Defaults: []DefaultField{
		{"vcpu", "4", "auto"}, {"memory_mib", "8192", "config"}, {"disk_size", "8G", "builtin"},
	}})
	expect(t, r, Pass, "4 vcpu · 8192 MiB · 8G disk")
	want := []string{
		"vcpu        4     (auto)",
		"memory_mib  8192  (config)",
		"disk_size   8G    (builtin)",
		"override in /home/u/.config/banger/config.toml under [vm_defaults]",
	}
	if strings.Join(r.Details, "\n") != strings.Join(want, "\n") {
		t.Fatalf("details:\n%s\nwant:\n%s", strings.Join(r.Details, "\n"), strings.Join(want, "\n"))
	}
}
