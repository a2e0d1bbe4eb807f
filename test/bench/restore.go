package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// restoredMsg is what bangerd logs once a VM restored from saved state
// is ready under its own identity, with how long each host-side phase
// took (see internal/vm/restore.go).
const restoredMsg = `msg="restored from saved state"`

// restorePhases are the host-side phases of restores, from bangerd's log.
type restorePhases struct {
	network  samples // an address, the tap made and plugged
	restore  samples // the VMM started to the guest running
	identity samples // the agent giving the guest its identity, to ready
}

// parseRestored reads the phases of every restore in a log in slog's text
// format, by VM name.
func parseRestored(log string) map[string][3]time.Duration {
	out := map[string][3]time.Duration{}
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, restoredMsg) {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(line) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		var p [3]time.Duration
		var errs []error
		for i, key := range []string{"network", "restore", "identity"} {
			d, err := time.ParseDuration(kv[key])
			p[i] = d
			errs = append(errs, err)
		}
		if kv["vm"] != "" && errors.Join(errs...) == nil {
			out[kv["vm"]] = p
		}
	}
	return out
}

// restorePhasesOf reads from bangerd's log how long each phase of the
// restores of VMs names took. A VM that fell back to a cold boot logged
// none and is left out.
func (b *vmBench) restorePhasesOf(names []string) (restorePhases, error) {
	info, err := b.api.Daemon(b.ctx)
	if err != nil {
		return restorePhases{}, err
	}
	log, err := os.ReadFile(info.LogFile)
	if err != nil {
		return restorePhases{}, fmt.Errorf("reading bangerd's log: %w", err)
	}
	all := parseRestored(string(log))
	var p restorePhases
	for _, name := range names {
		d, ok := all[name]
		if !ok {
			b.logf("  bangerd logged no restore of %s", name)
			continue
		}
		p.network, p.restore, p.identity = append(p.network, d[0]), append(p.restore, d[1]), append(p.identity, d[2])
	}
	if len(p.restore) == 0 {
		return p, fmt.Errorf("bangerd's log %s has no %s line for %q: did the message change?", info.LogFile, restoredMsg, names)
	}
	return p, nil
}

// measureRestore reports the host-side phases of the warm runs named,
// from bangerd's log, and sets the restore alone beside QEMU restoring
// the same template by hand, on the same machine.
func (b *vmBench) measureRestore(names []string) ([]oneShot, error) {
	p, err := b.restorePhasesOf(names)
	if err != nil {
		return nil, err
	}
	b.logf("vm create restore-src, for the restore baseline's command line")
	m, err := b.captureRestore("restore-src")
	if err != nil {
		return nil, err
	}
	var raw samples
	for r := 0; r < b.rounds; r++ {
		d, err := m.restoreByHand(b.ctx, b.ns, filepath.Join(b.work, fmt.Sprintf("raw-restore-%d", r)))
		if err != nil {
			return nil, err
		}
		b.logf("baseline QEMU restore to running: %s", secs(d))
		raw = append(raw, d)
	}
	ratio := float64(p.restore.median()) / float64(raw.median())
	return []oneShot{
		{name: "warm run, host side: network (address, tap) (bangerd's log)", value: p.network.String()},
		{name: "warm run, host side: restore alone, VMM start to guest running", value: p.restore.String()},
		{name: "baseline: QEMU by hand, same machine, template state + memory, start to running", value: raw.String()},
		{name: "restore alone: banger / baseline", value: fmt.Sprintf("%.2fx", ratio)},
		{name: "warm run, host side: identity (agent, to the guest ready)", value: p.identity.String()},
	}, nil
}
