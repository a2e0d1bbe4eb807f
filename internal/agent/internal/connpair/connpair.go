// Package connpair gives the agent's tests a connected pair of
// connections that behave like the real host-guest channels.
package connpair

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// New is a connected pair of unix sockets, host end first: buffered like
// the real channels, unlike net.Pipe. Both close when the test ends.
func New(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		t.Cleanup(func() { c.Close() })
	}
	return conns[0], conns[1]
}
