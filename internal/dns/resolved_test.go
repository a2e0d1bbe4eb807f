package dns

import (
	"banger/internal/dbustest"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// fakeResolved implements the methods of org.freedesktop.resolve1.Manager
// that banger calls, with resolved's D-Bus signatures, and records them.
type fakeResolved struct {
	mu    sync.Mutex
	calls []string
}

type linkDNS struct {
	Family  int32
	Address []byte
}

type linkDomain struct {
	Domain      string
	RoutingOnly bool
}

// record notes a call with the D-Bus signature of its arguments, which
// resolved checks strictly (godbus alone would convert an int64 to int32).
func (f *fakeResolved) record(msg dbus.Message, format string, args ...any) *dbus.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	sig, _ := msg.Headers[dbus.FieldSignature].Value().(dbus.Signature)
	f.calls = append(f.calls, sig.String()+" "+fmt.Sprintf(format, args...))
	return nil
}

func (f *fakeResolved) SetLinkDNS(msg dbus.Message, i int32, addrs []linkDNS) *dbus.Error {
	var s []string
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.Address)
		s = append(s, fmt.Sprintf("%d/%s", a.Family, ip))
	}
	return f.record(msg, "SetLinkDNS %d %s", i, strings.Join(s, ","))
}

func (f *fakeResolved) SetLinkDomains(msg dbus.Message, i int32, ds []linkDomain) *dbus.Error {
	return f.record(msg, "SetLinkDomains %d %v", i, ds)
}

func (f *fakeResolved) SetLinkDefaultRoute(msg dbus.Message, i int32, b bool) *dbus.Error {
	return f.record(msg, "SetLinkDefaultRoute %d %v", i, b)
}
func (f *fakeResolved) SetLinkLLMNR(msg dbus.Message, i int32, s string) *dbus.Error {
	return f.record(msg, "SetLinkLLMNR %d %s", i, s)
}
func (f *fakeResolved) SetLinkMulticastDNS(msg dbus.Message, i int32, s string) *dbus.Error {
	return f.record(msg, "SetLinkMulticastDNS %d %s", i, s)
}
func (f *fakeResolved) SetLinkDNSSEC(msg dbus.Message, i int32, s string) *dbus.Error {
	return f.record(msg, "SetLinkDNSSEC %d %s", i, s)
}
func (f *fakeResolved) SetLinkDNSOverTLS(msg dbus.Message, i int32, s string) *dbus.Error {
	return f.record(msg, "SetLinkDNSOverTLS %d %s", i, s)
}
func (f *fakeResolved) RevertLink(msg dbus.Message, i int32) *dbus.Error {
	return f.record(msg, "RevertLink %d", i)
}

func TestRouteLinkCallsResolved(t *testing.T) {
	addr := dbustest.PrivateBus(t)
	fake := &fakeResolved{}
	server := dbustest.Connect(t, addr)
	if err := server.Export(fake, resolvedPath, strings.TrimSuffix(resolvedManager, ".")); err != nil {
		t.Fatal(err)
	}
	if reply, err := server.RequestName(resolvedName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: %v %v", resolvedName, reply, err)
	}
	r := resolved{conn: dbustest.Connect(t, addr)}
	if err := r.here(); err != nil {
		t.Fatalf("resolved in this process is not found here: %v", err)
	}
	if err := r.route(7, netip.MustParseAddr("172.16.0.1"), DefaultZone); err != nil {
		t.Fatal(err)
	}
	if err := r.revert(7); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ia(iay) SetLinkDNS 7 2/172.16.0.1",
		"ia(sb) SetLinkDomains 7 [{vm true}]",
		"ib SetLinkDefaultRoute 7 false",
		"is SetLinkLLMNR 7 no",
		"is SetLinkMulticastDNS 7 no",
		"is SetLinkDNSSEC 7 no",
		"is SetLinkDNSOverTLS 7 no",
		"i RevertLink 7",
	}
	if !reflect.DeepEqual(fake.calls, want) {
		t.Errorf("resolved got\n%s\nwant\n%s", strings.Join(fake.calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestRouteLinkWithoutResolved(t *testing.T) {
	r := resolved{conn: dbustest.Connect(t, dbustest.PrivateBus(t))}
	if err := r.here(); !errors.Is(err, ErrNoResolved) {
		t.Errorf("here() with no resolved on the bus = %v, want ErrNoResolved", err)
	}
}

func TestSameNetns(t *testing.T) {
	same, err := sameNetns(fmt.Sprintf("/proc/%d/ns/net", os.Getpid()))
	if err != nil || !same {
		t.Errorf("sameNetns(own pid) = %v, %v", same, err)
	}
	if _, err := sameNetns("/proc/0/ns/net"); err == nil {
		t.Errorf("sameNetns of a missing process gave no error")
	}
}
