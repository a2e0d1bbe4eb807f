package server

import (
	"errors"
	"testing"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
	"banger/internal/vm"
)

func TestStatsOfAMissingVMThroughTheDaemon(t *testing.T) {
	a := newTestAPI(t)
	if _, err := a.client.VMStats(a.ctx, "nosuch"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("stats of a missing VM = %v; want not found", err)
	}
}

func TestStatsToAPI(t *testing.T) {
	st := statsToAPI(vm.Stats{Name: "box", VMM: vm.VMMStats{PID: 7, CPUPercent: 12.5, RSS: 3, PSS: 2, DiskBytes: 9},
		Guest: &agentproto.Stats{MemTotal: 100, MemAvailable: 40, Load: [3]float64{1, 2, 3}, Uptime: 5,
			Filesystems: []agentproto.FSUsage{{Path: "/", Total: 10, Used: 4, Avail: 5}}}})
	if st.VMM.PID != 7 || st.VMM.CPUPercent != 12.5 || st.VMM.RSSBytes != 3 || st.VMM.PSSBytes != 2 || st.VMM.DiskBytes != 9 {
		t.Errorf("VMM = %+v", st.VMM)
	}
	g := st.Guest
	if g == nil || g.MemTotalBytes != 100 || g.MemUsedBytes != 60 || g.Load[2] != 3 || g.UptimeSeconds != 5 || len(g.Filesystems) != 1 || g.Filesystems[0].UsedBytes != 4 {
		t.Errorf("guest = %+v", g)
	}
	if st := statsToAPI(vm.Stats{Name: "box", GuestError: "too old"}); st.Guest != nil || st.GuestError != "too old" {
		t.Errorf("without guest figures = %+v; want a null guest and the reason", st)
	}
}
