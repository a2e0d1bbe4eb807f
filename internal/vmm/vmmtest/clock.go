package vmmtest

import (
	"slices"
	"time"
)

// setClock is the agent's Options.SetClock: it records the time, and
// fails when Fail("SetClock", ...) says so.
func (h hooks) setClock(t time.Time) error {
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	if err := h.d.failure("SetClock"); err != nil {
		return err
	}
	h.v.clocks = append(h.v.clocks, t)
	return nil
}

// Clocks are the times the guest of runDir's VM was told to set its clock
// to in its last boot or restore.
func (d *Driver) Clocks(runDir string) []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.vms[runDir]; v != nil {
		return slices.Clone(v.clocks)
	}
	return nil
}
