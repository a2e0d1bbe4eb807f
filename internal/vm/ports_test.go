package vm

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/store"
)

// The fake guests' addresses are on no real network, so these tests
// check what bangerd holds on the host's loopback (a forward's listener
// is there, or gone); the proxying itself is internal/portfwd's tests'.

// freePort is a TCP port on loopback that nothing holds just now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// held reports whether something listens on 127.0.0.1:port (proto),
// by trying to take it.
func held(t *testing.T, proto string, port int) bool {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if proto == "udp" {
		pc, err := net.ListenPacket("udp", addr)
		if err == nil {
			pc.Close()
		}
		return err != nil
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
	}
	return err != nil
}

// assertPorts is VM name's recorded ports, checking each is bound and
// held, or (when running is false) neither.
func (h *mtHarness) assertPorts(name string, running bool) []store.Port {
	h.t.Helper()
	v := h.get(name)
	for _, p := range v.Ports {
		if running && (p.Bound == 0 || !held(h.t, p.Proto, p.Bound)) {
			h.t.Errorf("VM %s's port %+v: want it bound and held on the host", name, p)
		}
		if !running && p.Bound != 0 {
			h.t.Errorf("stopped VM %s's port %+v: want none bound", name, p)
		}
	}
	return v.Ports
}

func (h *mtHarness) createWithPorts(name string, ports ...api.PortForward) (store.VM, error) {
	req := h.request(name, true)
	req.Ports = ports
	return h.m.Create(h.ctx, req, nil)
}

func TestManagerPortsFollowTheVM(t *testing.T) {
	h := mtManager(t)
	fixed := freePort(t)
	_, err := h.createWithPorts("web",
		api.PortForward{HostPort: fixed, GuestPort: 8000},
		api.PortForward{GuestPort: 53, Proto: "udp"})
	if err != nil {
		t.Fatal(err)
	}
	ports := h.assertPorts("web", true)
	if len(ports) != 2 || ports[0].Bound != fixed || ports[0].HostAddr != "127.0.0.1" || ports[0].Proto != "tcp" || ports[1].Bound == 0 {
		t.Fatalf("ports = %+v, want %d bound on loopback and a free UDP port", ports, fixed)
	}
	if _, err := h.m.Stop(h.ctx, "web"); err != nil {
		t.Fatal(err)
	}
	h.assertPorts("web", false)
	for _, p := range ports {
		if held(t, p.Proto, p.Bound) {
			t.Errorf("port %d/%s still held after stop", p.Bound, p.Proto)
		}
	}
	if _, err := h.m.Start(h.ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	if again := h.assertPorts("web", true); again[0].Bound != fixed {
		t.Errorf("after start port = %+v, want %d again", again[0], fixed)
	}
	if err := h.m.Delete(h.ctx, "web", true); err != nil {
		t.Fatal(err)
	}
	if held(t, "tcp", fixed) {
		t.Errorf("port %d still held after delete", fixed)
	}
}

func TestManagerPortsRestoredOnAdopt(t *testing.T) {
	h := mtManager(t)
	fixed := freePort(t)
	if _, err := h.createWithPorts("web", api.PortForward{HostPort: fixed, GuestPort: 8000}); err != nil {
		t.Fatal(err)
	}
	h.restart(func() {
		if held(t, "tcp", fixed) {
			t.Errorf("port %d held while no daemon runs", fixed)
		}
	})
	if p := h.assertPorts("web", true); p[0].Bound != fixed {
		t.Errorf("adopted VM's port = %+v, want %d", p[0], fixed)
	}
}

func TestManagerPortsRefusedUnderNone(t *testing.T) {
	h := mtManager(t)
	req := h.request("quiet", true)
	req.Network = "none"
	req.Ports = []api.PortForward{{GuestPort: 80}}
	if _, err := h.m.Create(h.ctx, req, nil); errdefs.KindOf(err) != errdefs.KindFailedPrecondition || !strings.Contains(err.Error(), "none") {
		t.Fatalf("create under none with -p = %v, want a refusal naming the policy", err)
	}
	req.Ports = nil
	if _, err := h.m.Create(h.ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Ports().Add(h.ctx, "quiet", []api.PortForward{{GuestPort: 80}}); errdefs.KindOf(err) != errdefs.KindFailedPrecondition {
		t.Errorf("AddPorts under none = %v, want a refusal", err)
	}
	h.mustCreate("web", true)
	if _, err := h.m.Ports().Add(h.ctx, "web", []api.PortForward{{GuestPort: 80}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.SetNetwork(h.ctx, "web", "none"); errdefs.KindOf(err) != errdefs.KindFailedPrecondition {
		t.Errorf("SetNetwork none with ports forwarded = %v, want a refusal", err)
	}
}

func TestManagerAddAndRemovePorts(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	fixed := freePort(t)
	v, err := h.m.Ports().Add(h.ctx, "web", []api.PortForward{{HostPort: fixed, GuestPort: 8000}, {GuestPort: 9000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Ports) != 2 || !held(t, "tcp", fixed) {
		t.Fatalf("ports after add = %+v, want 2 with %d held", v.Ports, fixed)
	}
	if _, err := h.m.Ports().Add(h.ctx, "web", []api.PortForward{{HostPort: fixed, GuestPort: 1}}); errdefs.KindOf(err) != errdefs.KindAlreadyExists {
		t.Errorf("adding host port %d twice = %v, want already exists", fixed, err)
	}
	random := v.Ports[1].Bound
	if _, err := h.m.Ports().Remove(h.ctx, "web", []api.PortForward{{HostPort: fixed}}); err != nil {
		t.Fatal(err)
	}
	if held(t, "tcp", fixed) || !held(t, "tcp", random) {
		t.Errorf("after removing %d: want it free and %d still held", fixed, random)
	}
	_, err = h.m.Ports().Remove(h.ctx, "web", []api.PortForward{{HostPort: fixed}})
	if errdefs.KindOf(err) != errdefs.KindNotFound || !strings.Contains(err.Error(), "->9000/tcp") {
		t.Errorf("removing it again = %v, want not found listing what is forwarded", err)
	}
	if got := h.get("web").Ports; len(got) != 1 || got[0].GuestPort != 9000 {
		t.Errorf("recorded ports = %+v, want only the one to 9000", got)
	}
}

// A host port another program holds fails the create, naming the port,
// and leaves nothing behind.
func TestManagerTakenPortFailsCreate(t *testing.T) {
	h := mtManager(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = h.createWithPorts("web", api.PortForward{HostPort: port, GuestPort: 80})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("create with a taken port = %v, want an error naming it", err)
	}
	var named *stepError
	if !errors.As(err, &named) || named.step != "forwarding ports" {
		t.Errorf("error %v: want it to name the step", err)
	}
	h.assertGone("web")
}

func TestCheckPortsRefusesBadForwards(t *testing.T) {
	for _, bad := range []api.PortForward{
		{GuestPort: 0}, {GuestPort: 65536}, {GuestPort: 80, HostPort: -1},
		{GuestPort: 80, Proto: "sctp"}, {GuestPort: 80, HostAddr: "localhost"},
	} {
		if _, err := checkPorts([]api.PortForward{bad}, nil); errdefs.KindOf(err) != errdefs.KindInvalidArgument {
			t.Errorf("checkPorts(%+v) = %v, want invalid argument", bad, err)
		}
	}
}

// A port taken while no daemon ran is reported in the adopted VM's last
// error; the VM runs on.
func TestManagerAdoptWithATakenPort(t *testing.T) {
	h := mtManager(t)
	fixed := freePort(t)
	if _, err := h.createWithPorts("web", api.PortForward{HostPort: fixed, GuestPort: 8000}); err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	h.restart(func() {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(fixed)); err != nil {
			t.Fatal(err)
		}
	})
	defer ln.Close()
	v := h.get("web")
	if v.State != StateRunning || !strings.Contains(v.LastError, "already in use") || v.Ports[0].Bound != 0 {
		t.Errorf("adopted VM whose port was taken: state %s, last error %q, ports %+v; want running, the port named, none bound", v.State, v.LastError, v.Ports)
	}
}
