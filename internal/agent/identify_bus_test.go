package agent

import (
	"reflect"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"

	"banger/internal/dbustest"
)

// fakeResolved answers the methods of org.freedesktop.resolve1.Manager
// a clone's identity calls, with resolved's signatures, and records them.
type fakeResolved struct {
	mu    sync.Mutex
	calls []string
	dns   []dnsServer
}

func (f *fakeResolved) SetLinkDNS(ifindex int32, servers []dnsServer) *dbus.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "SetLinkDNS")
	f.dns = servers
	return nil
}

// TestResolversOverTheSharedBus: a clone's DNS servers reach resolved with
// its signatures, over one connection kept across calls, opened again
// when it was closed under the agent.
func TestResolversOverTheSharedBus(t *testing.T) {
	addr := dbustest.PrivateBus(t)
	server := dbustest.Connect(t, addr)
	fake := &fakeResolved{}
	if err := server.Export(fake, "/org/freedesktop/resolve1", "org.freedesktop.resolve1.Manager"); err != nil {
		t.Fatal(err)
	}
	if _, err := server.RequestName("org.freedesktop.resolve1", dbus.NameFlagDoNotQueue); err != nil {
		t.Fatal(err)
	}
	old := systemBus
	systemBus = &sharedBus{addr: addr}
	t.Cleanup(func() { systemBus = old })

	l, err := newResolvedLink(2, []string{"172.16.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.apply(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	first := systemBus.conn
	if err := l.apply(testCtx(t)); err != nil || systemBus.conn != first {
		t.Fatalf("second call: %v, same connection %v", err, systemBus.conn == first)
	}
	first.Close() // as when dbus-daemon restarts
	if err := l.apply(testCtx(t)); err != nil || systemBus.conn == first {
		t.Fatalf("after the connection closed: %v, a new connection %v", err, systemBus.conn != first)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	want := []string{"SetLinkDNS", "SetLinkDNS", "SetLinkDNS"}
	if !reflect.DeepEqual(fake.calls, want) || !reflect.DeepEqual(fake.dns, []dnsServer{{2, []byte{172, 16, 0, 1}}}) {
		t.Errorf("resolved got %v with servers %v", fake.calls, fake.dns)
	}
}
