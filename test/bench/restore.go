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

// warmRun is one warm `vm run --rm -- true`: its total time and when
// the CLI printed that it restores from the template and that the guest
// is ready.
type warmRun struct {
	name                      string
	total, toRestore, toReady time.Duration
}

// warmPhases split warm runs into what the CLI saw and the host-side
// phases bangerd logged, one sample per run.
type warmPhases struct {
	toRestore samples // CLI start to the restore step: the template found, the work disk made
	network   samples // an address, the tap made
	restore   samples // the VMM started to the guest running
	identity  samples // the agent giving the guest its identity, to ready
	rest      samples // the rest to ready: the root disk copy, waiting for sshd
	toExit    samples // ready to exit: the command run, the VM deleted
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

// phasesOf splits runs by bangerd's log. A run that fell back to a cold
// boot logged no restore and is left out.
func (b *vmBench) phasesOf(runs []warmRun) (warmPhases, error) {
	info, err := b.api.Daemon(b.ctx)
	if err != nil {
		return warmPhases{}, err
	}
	log, err := os.ReadFile(info.LogFile)
	if err != nil {
		return warmPhases{}, fmt.Errorf("reading bangerd's log: %w", err)
	}
	logged := parseRestored(string(log))
	var p warmPhases
	for _, r := range runs {
		d, ok := logged[r.name]
		if !ok {
			b.logf("  bangerd logged no restore of %s", r.name)
			continue
		}
		p.toRestore = append(p.toRestore, r.toRestore)
		p.network, p.restore, p.identity = append(p.network, d[0]), append(p.restore, d[1]), append(p.identity, d[2])
		p.rest = append(p.rest, r.toReady-r.toRestore-d[0]-d[1]-d[2])
		p.toExit = append(p.toExit, r.total-r.toReady)
	}
	if len(p.restore) == 0 {
		return p, fmt.Errorf("bangerd's log %s has no %s line for the warm runs: did the message change?", info.LogFile, restoredMsg)
	}
	return p, nil
}

// measureRestore splits the warm runs into their phases, the host-side
// ones from bangerd's log, and sets the restore alone beside QEMU
// restoring the same template by hand, on the same machine.
func (b *vmBench) measureRestore(runs []warmRun) ([]oneShot, error) {
	p, err := b.phasesOf(runs)
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
	const run = "warm vm run, "
	return []oneShot{
		{name: run + "CLI start to the restore step (template found, work disk made)", value: p.toRestore.String()},
		{name: run + "host side: network (address, tap), from bangerd's log", value: p.network.String()},
		{name: run + "host side: restore alone, VMM start to guest running", value: p.restore.String()},
		{name: "baseline: QEMU by hand, same machine, template state + memory, start to running", value: raw.String()},
		{name: "restore alone: banger / baseline", value: fmt.Sprintf("%.2fx", ratio)},
		{name: run + "host side: identity (agent, to the guest ready)", value: p.identity.String()},
		{name: run + "the rest to ready (root disk copy, waiting for sshd)", value: p.rest.String()},
		{name: run + "ready to exit (the command run, the VM deleted)", value: p.toExit.String()},
	}, nil
}
