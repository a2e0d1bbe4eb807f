package portfwd

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// echoTCP serves a TCP echo on loopback and returns its port.
func echoTCP(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// echoUDP serves a UDP echo on loopback and returns its port.
func echoUDP(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func newForwarder(t *testing.T) *Forwarder {
	f := New("127.0.0.1", nil)
	t.Cleanup(f.Close)
	return f
}

func TestTCPEchoThroughForward(t *testing.T) {
	f := newForwarder(t)
	sp, err := f.Add(Spec{GuestPort: echoTCP(t), Proto: TCP})
	if err != nil {
		t.Fatal(err)
	}
	if sp.HostPort == 0 || sp.HostAddr != "127.0.0.1" {
		t.Fatalf("Add gave %+v, want a bound port on 127.0.0.1", sp)
	}
	c, err := net.Dial("tcp", sp.Listen())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte("hello through the forward")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	// The half-close reaches the guest, whose echo then ends: ReadAll
	// returns only once the guest's side closed too.
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != string(msg) {
		t.Fatalf("read %q, %v; want %q", got, err, msg)
	}
}

func TestUDPEchoThroughForward(t *testing.T) {
	f := newForwarder(t)
	sp, err := f.Add(Spec{GuestPort: echoUDP(t), Proto: UDP})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", sp.Listen())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	for i := range 3 {
		msg := "datagram " + strconv.Itoa(i)
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, msg)
		}
	}
}

func TestCloseStopsListeners(t *testing.T) {
	f := New("127.0.0.1", nil)
	tcp, err := f.Add(Spec{GuestPort: echoTCP(t), Proto: TCP})
	if err != nil {
		t.Fatal(err)
	}
	udp, err := f.Add(Spec{GuestPort: echoUDP(t), Proto: UDP})
	if err != nil {
		t.Fatal(err)
	}
	open, err := net.Dial("tcp", tcp.Listen())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	f.Close()
	if _, err := net.Dial("tcp", tcp.Listen()); err == nil {
		t.Errorf("%s still accepts connections after Close", tcp.Listen())
	}
	// The port is free again: it can be bound.
	pc, err := net.ListenPacket("udp", udp.Listen())
	if err != nil {
		t.Errorf("%s still held after Close: %v", udp.Listen(), err)
	} else {
		pc.Close()
	}
	open.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := open.Read(make([]byte, 1)); err == nil {
		t.Errorf("a connection open at Close was not cut")
	}
	if len(f.Specs()) != 0 {
		t.Errorf("Specs after Close = %v, want none", f.Specs())
	}
}

func TestRemoveStopsOneForward(t *testing.T) {
	f := newForwarder(t)
	port := echoTCP(t)
	a, err := f.Add(Spec{GuestPort: port, Proto: TCP})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Add(Spec{GuestPort: port, Proto: TCP})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Remove(a) {
		t.Fatalf("Remove(%v) found nothing", a)
	}
	if f.Remove(a) {
		t.Errorf("Remove(%v) twice found it twice", a)
	}
	if _, err := net.Dial("tcp", a.Listen()); err == nil {
		t.Errorf("%s still accepts after Remove", a.Listen())
	}
	c, err := net.Dial("tcp", b.Listen())
	if err != nil {
		t.Fatalf("the other forward stopped too: %v", err)
	}
	c.Close()
}

func TestTakenPortIsNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	f := newForwarder(t)
	_, err = f.Add(Spec{HostPort: port, GuestPort: 80, Proto: TCP})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Add on a taken port = %v, want ErrPortInUse", err)
	}
	for _, want := range []string{"127.0.0.1:" + strconv.Itoa(port), "already in use", "-p OTHER:80", "-p 80"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestForeignAddressRefused(t *testing.T) {
	f := newForwarder(t)
	// TEST-NET-1: never one of this host's addresses.
	_, err := f.Add(Spec{HostAddr: "192.0.2.1", HostPort: 0, GuestPort: 80, Proto: TCP})
	if err == nil || !strings.Contains(err.Error(), "not one of this host's") {
		t.Fatalf("Add on 192.0.2.1 = %v, want a refusal naming the address", err)
	}
}
