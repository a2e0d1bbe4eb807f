package server

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/store"
	"banger/internal/vm"
)

// A forward added through the API carries a TCP exchange to the VM's
// address (here loopback, where an echo stands in for the guest), is
// listed with the VM, and goes when removed.
func TestPortForwardThroughTheDaemon(t *testing.T) {
	a := newTestAPI(t)
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	guestPort := echo.Addr().(*net.TCPAddr).Port
	v := store.VM{Name: "box", State: vm.StateRunning, Image: "i", Kernel: "k", VMM: "qemu", VCPU: 1, MemoryMiB: 1, DiskBytes: 1, VID: "beef", IP: "127.0.0.1", Network: "internet"}
	if err := a.store.CreateVM(a.ctx, v); err != nil {
		t.Fatal(err)
	}
	got, err := a.client.AddPorts(a.ctx, "box", []api.PortForward{{GuestPort: guestPort}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Ports) != 1 || got.Ports[0].Bound == 0 {
		t.Fatalf("VM after AddPorts has ports %+v, want one bound", got.Ports)
	}
	host := "127.0.0.1:" + strconv.Itoa(got.Ports[0].Bound)
	listed, err := a.client.GetVM(a.ctx, "box")
	if err != nil || len(listed.Ports) != 1 || listed.Ports[0].String() != host+"->"+strconv.Itoa(guestPort)+"/tcp" {
		t.Fatalf("GetVM ports = %+v, %v; want %s listed", listed.Ports, err, host)
	}
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("through the forward read %q, %v; want ping", buf, err)
	}
	c.Close()
	if _, err := a.client.RemovePorts(a.ctx, "box", []string{"53/udp"}); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("removing a port not forwarded = %v, want not found", err)
	}
	if _, err := a.client.RemovePorts(a.ctx, "box", []string{"nope"}); errdefs.KindOf(err) != errdefs.KindInvalidArgument {
		t.Errorf("removing a bad port = %v, want invalid argument", err)
	}
	after, err := a.client.RemovePorts(a.ctx, "box", []string{strconv.Itoa(got.Ports[0].Bound)})
	if err != nil || len(after.Ports) != 0 {
		t.Fatalf("RemovePorts = %+v, %v; want no port left", after.Ports, err)
	}
	if c, err := net.Dial("tcp", host); err == nil {
		c.Close()
		t.Errorf("%s still accepts after removal", host)
	}
	if _, err := a.client.AddPorts(a.ctx, "box", []api.PortForward{{GuestPort: 0}}); errdefs.KindOf(err) != errdefs.KindInvalidArgument || !strings.Contains(err.Error(), "guest port 0") {
		t.Errorf("AddPorts of guest port 0 = %v, want invalid argument", err)
	}
}
