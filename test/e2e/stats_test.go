package e2e

import (
	"encoding/json"
	"testing"

	"banger/internal/api"
)

// checkStats asks for running VM name's stats once: the VMM's memory
// comes from the host, the guest's from its agent.
func checkStats(t *testing.T, n *vmNet, name string) {
	t.Helper()
	r := n.must(t, "vm", "stats", "--no-stream", "--json", name)
	var stats []api.VMStats
	if err := json.Unmarshal([]byte(r.stdout), &stats); err != nil || len(stats) != 1 {
		t.Fatalf("vm stats --json %s: %v\n%s", name, err, r)
	}
	st := stats[0]
	if st.Name != name || st.VMM.PID <= 0 || st.VMM.RSSBytes == 0 || st.VMM.DiskBytes == 0 {
		t.Errorf("vm stats %s: VMM figures %+v; want a pid, RSS and disk bytes", name, st.VMM)
	}
	if st.Guest == nil || st.Guest.MemTotalBytes == 0 || st.Guest.MemUsedBytes == 0 || st.Guest.UptimeSeconds <= 0 || len(st.Guest.Filesystems) != 2 {
		t.Errorf("vm stats %s: guest figures %+v (error %q); want memory, uptime, / and /root", name, st.Guest, st.GuestError)
	}
}
