package dns

import (
	"maps"
	"net/netip"
	"strings"
	"sync/atomic"
)

// Records is the table of VM names and addresses the server answers
// from. Readers never wait: Replace swaps in a new table whole. The zero
// value is an empty table, ready to use.
type Records struct {
	table atomic.Pointer[map[string]netip.Addr]
}

// Replace makes names the whole table. Names are VM names, without the
// zone; they are matched without regard to case.
func (r *Records) Replace(names map[string]netip.Addr) {
	t := make(map[string]netip.Addr, len(names))
	for name, addr := range names {
		t[strings.ToLower(name)] = addr
	}
	r.table.Store(&t)
}

// Lookup returns the address of the VM called name (lower case).
func (r *Records) Lookup(name string) (netip.Addr, bool) {
	t := r.table.Load()
	if t == nil {
		return netip.Addr{}, false
	}
	a, ok := (*t)[name]
	return a, ok
}

// Snapshot returns a copy of the table.
func (r *Records) Snapshot() map[string]netip.Addr {
	t := r.table.Load()
	if t == nil {
		return map[string]netip.Addr{}
	}
	return maps.Clone(*t)
}
