package network

import (
	"errors"
	"testing"

	"banger/internal/dns"
	"banger/internal/errdefs"
)

// In the test's own network namespace no systemd-resolved serves the
// bridge (resolved, where it runs, lives in the host's namespace), so
// RouteDNS must leave it alone, whatever the host runs.
func TestRouteDNSLeavesResolvedOfAnotherNamespaceAlone(t *testing.T) {
	needNetns(t)
	if err := RouteDNS(testConfig); errdefs.KindOf(err) != errdefs.KindFailedPrecondition {
		t.Errorf("RouteDNS without the bridge = %v, want failed_precondition", err)
	}
	setupBridge(t, testConfig)
	if err := RouteDNS(testConfig); !errors.Is(err, dns.ErrNoResolved) {
		t.Errorf("RouteDNS in the test namespace = %v, want dns.ErrNoResolved", err)
	}
}
