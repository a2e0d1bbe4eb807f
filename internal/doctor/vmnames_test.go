package doctor

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

var boxIP = netip.MustParseAddr("172.16.0.2")

func runningBox(context.Context) (string, netip.Addr, bool, error) { return "box", boxIP, true, nil }

func resolvesTo(addrs ...netip.Addr) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		if host != "box.vm" {
			return nil, errors.New("asked for " + host)
		}
		return addrs, nil
	}
}

func fails(msg string) func(context.Context, string) ([]netip.Addr, error) {
	return func(context.Context, string) ([]netip.Addr, error) { return nil, errors.New(msg) }
}

func TestVMNamesResolve(t *testing.T) {
	r := checkVMNames(context.Background(), VMNames{RunningVM: runningBox, Resolve: resolvesTo(netip.MustParseAddr("::ffff:172.16.0.2"))})
	expect(t, r, Pass, "box.vm resolves to 172.16.0.2")
}

func TestVMNamesNotRouted(t *testing.T) {
	r := checkVMNames(context.Background(), VMNames{
		RunningVM: runningBox, Server: "172.16.0.1:53",
		Resolve: fails("no such host"),
		Ask: func(_ context.Context, server, name string) ([]netip.Addr, error) {
			if server != "172.16.0.1:53" || name != "box.vm" {
				return nil, errors.New("asked " + server + " for " + name)
			}
			return []netip.Addr{boxIP}, nil
		},
	})
	expect(t, r, Warn, "though bangerd answers for it on 172.16.0.1:53")
	if !strings.Contains(r.Fix, "docs/dns-routing.md") {
		t.Errorf("fix %q does not point to docs/dns-routing.md", r.Fix)
	}
}

func TestVMNamesServerSilent(t *testing.T) {
	r := checkVMNames(context.Background(), VMNames{
		RunningVM: runningBox, Server: "172.16.0.1:53",
		Resolve: resolvesTo(netip.MustParseAddr("192.0.2.9")),
		Ask: func(context.Context, string, string) ([]netip.Addr, error) {
			return nil, errors.New("connection refused")
		},
	})
	expect(t, r, Warn, "resolves to [192.0.2.9], not 172.16.0.2, and bangerd's DNS server on 172.16.0.1:53 does not answer")
	if !strings.Contains(r.Fix, "banger daemon logs") {
		t.Errorf("fix %q does not point to the daemon's logs", r.Fix)
	}
}

func TestVMNamesWithoutRunningVM(t *testing.T) {
	none := func(context.Context) (string, netip.Addr, bool, error) { return "", netip.Addr{}, false, nil }
	expect(t, checkVMNames(context.Background(), VMNames{RunningVM: none}), Pass, "not tested")
	broken := func(context.Context) (string, netip.Addr, bool, error) {
		return "", netip.Addr{}, false, errors.New("daemon is wedged")
	}
	expect(t, checkVMNames(context.Background(), VMNames{RunningVM: broken}), Warn, "daemon is wedged")
}

// TestVMNamesDaemonUnreachable: a daemon the doctor cannot reach (its
// runtime dir is a file, say) is the daemon line's to explain.
func TestVMNamesDaemonUnreachable(t *testing.T) {
	unreachable := func(context.Context) (string, netip.Addr, bool, error) {
		return "", netip.Addr{}, false, errdefs.FailedPrecondition("cannot reach bangerd: runtime dir /run/b is a file, not a directory")
	}
	r := checkVMNames(context.Background(), VMNames{RunningVM: unreachable})
	expect(t, r, Warn, "not tested: cannot reach bangerd (see the daemon line)")
}
