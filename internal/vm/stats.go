package vm

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
	"banger/internal/store"
	"banger/internal/vmm"
)

// Stats is what a running VM costs the host, and what its guest says it
// uses.
type Stats struct {
	Name string
	VMM  VMMStats
	// Guest is nil when the guest agent could not say (an agent from
	// before stats, or one that does not answer); GuestError says why.
	Guest      *agentproto.Stats
	GuestError string
}

// VMMStats is the VMM process's share of the host.
type VMMStats struct {
	PID int
	// CPUPercent is the CPU time the VMM used over the last interval: 100
	// is one host core busy all along.
	CPUPercent float64
	// RSS is the VMM's resident memory and PSS its proportional share of
	// it (0 when the kernel does not say), in bytes.
	RSS, PSS uint64
	// DiskBytes is the space the VM's disk files take on the host: their
	// allocated blocks, not their apparent size.
	DiskBytes uint64
}

// statsGuestWait bounds the guest agent's answer to a stats request.
const statsGuestWait = 5 * time.Second

// Stats measures running VM name. A guest that cannot answer leaves the
// guest figures out, never the host's.
func (m *Manager) Stats(ctx context.Context, name string) (Stats, error) {
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return Stats{}, err
	}
	pid, err := m.layout.vmmPID(ctx, v)
	if err != nil {
		return Stats{}, err
	}
	_, first, err := m.usage.read(pid)
	if err != nil {
		return Stats{}, stoppedMeanwhile(name, err)
	}
	st := Stats{Name: name, VMM: VMMStats{PID: pid, DiskBytes: allocatedBytes(m.layout.vmDir(name))}}
	gctx, cancel := context.WithTimeout(ctx, statsGuestWait)
	st.Guest, st.GuestError = m.agents.stats(gctx, name)
	cancel()
	u, cpu, err := m.usage.cpu(ctx, v.VID, pid, first)
	if ctx.Err() != nil {
		return Stats{}, ctx.Err()
	}
	if err != nil {
		return Stats{}, stoppedMeanwhile(name, err)
	}
	st.VMM.CPUPercent, st.VMM.RSS, st.VMM.PSS = cpu, u.RSS, u.PSS
	return st, nil
}

// vmmPID is the pid of running VM v's VMM process.
func (l *layout) vmmPID(ctx context.Context, v store.VM) (int, error) {
	if v.State != StateRunning {
		return 0, errdefs.FailedPrecondition("VM %s is %s: stats are measured on running VMs; start it with `banger vm start %s`", v.Name, v.State, v.Name)
	}
	drv, err := l.driver(v.VMM)
	if err != nil {
		return 0, err
	}
	info, err := drv.Attach(ctx, l.runSpec(v))
	if err != nil {
		return 0, err
	}
	if info.State == vmm.StateStopped || info.PID <= 0 {
		return 0, errdefs.FailedPrecondition("VM %s has no VMM process: it stopped; see `banger vm logs %s`", v.Name, v.Name)
	}
	return info.PID, nil
}

func stoppedMeanwhile(name string, err error) error {
	return errdefs.Wrap(errdefs.KindFailedPrecondition, fmt.Errorf("measuring VM %s (did it stop?): %w", name, err))
}

// stats asks VM name's agent for the guest's figures, or says why it
// could not.
func (l *agentLinks) stats(ctx context.Context, name string) (*agentproto.Stats, string) {
	mux, err := l.agent(ctx, name)
	if err != nil {
		return nil, err.Error()
	}
	gs, err := mux.Stats(ctx)
	if err != nil {
		return nil, err.Error()
	}
	return &gs, ""
}

// allocatedBytes is the space the regular files under dir take, from
// their allocated blocks; files that vanish meanwhile count nothing.
func allocatedBytes(dir string) uint64 {
	var total uint64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				total += uint64(st.Blocks) * 512
			}
		}
		return nil
	})
	return total
}

// cpuWindow is the shortest interval a CPU figure is measured over.
const cpuWindow = 250 * time.Millisecond

// sampleLife is how long a VM's last CPU reading serves as the start of
// the next interval; a reading older than that is too stale to average.
const sampleLife = 10 * time.Second

// usageSampler reads VMM processes' usage and keeps each VM's last CPU
// reading, so that a caller polling every second gets the CPU use of
// that second without waiting for it. The zero value reads /proc.
type usageSampler struct {
	procDir string // where procfs is; "" is /proc
	mu      sync.Mutex
	last    map[string]cpuSample // by VM id
}

type cpuSample struct {
	pid   int
	ticks uint64
	at    time.Time
}

// read reads process pid's usage now.
func (u *usageSampler) read(pid int) (vmm.Usage, cpuSample, error) {
	dir := u.procDir
	if dir == "" {
		dir = "/proc"
	}
	us, err := vmm.ReadUsage(dir, pid)
	return us, cpuSample{pid: pid, ticks: us.CPUTicks, at: time.Now()}, err
}

// cpu reads process pid's usage again and its CPU use since VM vid's
// last reading, or since first (read earlier by this caller) when there
// is no usable one, waiting for at least cpuWindow to pass.
func (u *usageSampler) cpu(ctx context.Context, vid string, pid int, first cpuSample) (vmm.Usage, float64, error) {
	start := u.start(vid, first)
	if wait := time.Until(start.at.Add(cpuWindow)); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return vmm.Usage{}, 0, ctx.Err()
		case <-t.C:
		}
	}
	us, end, err := u.read(pid)
	if err != nil {
		return vmm.Usage{}, 0, err
	}
	u.keep(vid, end)
	secs := end.at.Sub(start.at).Seconds()
	if end.ticks < start.ticks || secs <= 0 {
		return us, 0, nil
	}
	return us, float64(end.ticks-start.ticks) / vmm.ClockTicks / secs * 100, nil
}

// start is VM vid's last reading when it is of the same process, at
// least cpuWindow old and younger than sampleLife; else first.
func (u *usageSampler) start(vid string, first cpuSample) cpuSample {
	u.mu.Lock()
	defer u.mu.Unlock()
	last, ok := u.last[vid]
	age := first.at.Sub(last.at)
	if ok && last.pid == first.pid && age >= cpuWindow && age <= sampleLife {
		return last
	}
	return first
}

// keep records s as VM vid's last reading, and forgets stale ones (of
// VMs stopped or deleted since).
func (u *usageSampler) keep(vid string, s cpuSample) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last == nil {
		u.last = map[string]cpuSample{}
	}
	for id, old := range u.last {
		if s.at.Sub(old.at) > sampleLife {
			delete(u.last, id)
		}
	}
	u.last[vid] = s
}
