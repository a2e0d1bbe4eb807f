package agent

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// systemBusSocket is where a guest with D-Bus has its system bus.
const systemBusSocket = "/run/dbus/system_bus_socket"

// errNoBus is the error of a guest without a system bus.
var errNoBus = errors.New("the guest has no D-Bus system bus")

// sharedBus is the agent's connection to the system bus, opened once and
// kept. A template's agent opens it before the template is saved, so the
// identity steps of every clone find it open and skip the handshake with
// dbus-daemon, a good part of a second of the guest's only CPU under
// emulation.
type sharedBus struct {
	addr string // the bus's address; "" for the system bus
	mu   sync.Mutex
	conn *dbus.Conn
}

var systemBus = &sharedBus{}

// call runs fn on the connection, opening it when there is none. A
// connection found closed (dbus-daemon restarted) is opened again, once.
func (b *sharedBus) call(fn func(*dbus.Conn) error) error {
	for retried := false; ; retried = true {
		conn, err := b.get()
		if err != nil {
			return err
		}
		err = fn(conn)
		if err == nil || retried || conn.Connected() {
			return err
		}
		b.drop(conn)
	}
}

func (b *sharedBus) get() (*dbus.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil && b.conn.Connected() {
		return b.conn, nil
	}
	connect := dbus.ConnectSystemBus
	if b.addr != "" {
		connect = func(opts ...dbus.ConnOption) (*dbus.Conn, error) { return dbus.Connect(b.addr, opts...) }
	} else if _, err := os.Stat(systemBusSocket); err != nil {
		return nil, errNoBus
	}
	// No context: the connection outlives the request that opens it.
	conn, err := connect()
	if err != nil {
		return nil, err
	}
	b.conn = conn
	return conn, nil
}

func (b *sharedBus) drop(conn *dbus.Conn) {
	b.mu.Lock()
	if b.conn == conn {
		b.conn = nil
	}
	b.mu.Unlock()
	conn.Close()
}

// prepareGuestSnapshot is Options.Sync in a real guest: it flushes the
// filesystems and opens the system bus connection that a clone's
// identity steps use, best effort.
func prepareGuestSnapshot() {
	_, _ = systemBus.get()
	unix.Sync()
}

// busObject calls method on a D-Bus object through the shared
// connection.
func busObject(ctx context.Context, dest, path, method string, args ...any) error {
	return systemBus.call(func(conn *dbus.Conn) error {
		return conn.Object(dest, dbus.ObjectPath(path)).CallWithContext(ctx, method, 0, args...).Err
	})
}
