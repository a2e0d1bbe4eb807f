package network

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"banger/internal/errdefs"
)

// vmTx queues changes to one VM's objects in the caller's two tables of a
// bridge, to be applied in one transaction.
type vmTx struct {
	conn                  *nftables.Conn
	inet, br              *nftables.Table
	egress, open          *nftables.Set
	ports, taps, isolated *nftables.Set
	inetChains, brChains  map[string]bool
	inetSets              map[string]bool
}

// openVMTx finds the tables and shared sets ensureTables made.
func openVMTx(conn *nftables.Conn, caller int, bridge string) (*vmTx, error) {
	inet, br := tables(caller, bridge)
	tx := &vmTx{conn: conn, inet: inet, br: br}
	var err error
	for _, s := range []struct {
		dst  **nftables.Set
		t    *nftables.Table
		name string
	}{{&tx.egress, inet, setEgress}, {&tx.open, inet, setOpen}, {&tx.ports, br, setPorts}, {&tx.taps, br, setTaps}, {&tx.isolated, br, setIsolated}} {
		if *s.dst, err = conn.GetSetByName(s.t, s.name); err != nil {
			return nil, errdefs.FailedPrecondition("nftables set %s of table %s is missing (%v); set up the bridge first", s.name, s.t.Name, err)
		}
	}
	if tx.inetChains, err = chainNames(conn, inet); err == nil {
		tx.brChains, err = chainNames(conn, br)
	}
	if err != nil {
		return nil, nftError("listing chains of "+inet.Name, err)
	}
	sets, err := conn.GetSets(inet)
	if err != nil {
		return nil, nftError("listing sets of "+inet.Name, err)
	}
	tx.inetSets = map[string]bool{}
	for _, s := range sets {
		tx.inetSets[s.Name] = true
	}
	return tx, nil
}

func chainNames(conn *nftables.Conn, t *nftables.Table) (map[string]bool, error) {
	chains, err := conn.ListChainsOfTableFamily(t.Family)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, ch := range chains {
		if ch.Table != nil && ch.Table.Name == t.Name {
			names[ch.Name] = true
		}
	}
	return names, nil
}

// vmState is what the tables hold of one VM.
type vmState struct {
	egress, open, ports, taps, isolated []nftables.SetElement
	comment                             string // of its egress entry
	complete                            bool   // it has its egress and ports entries, with the same comment
}

func (tx *vmTx) read(tap string) (vmState, error) {
	var st vmState
	for _, s := range []struct {
		set *nftables.Set
		dst *[]nftables.SetElement
	}{{tx.egress, &st.egress}, {tx.open, &st.open}, {tx.ports, &st.ports}, {tx.taps, &st.taps}, {tx.isolated, &st.isolated}} {
		elems, err := tx.conn.GetSetElements(s.set)
		if err != nil {
			return st, err
		}
		for _, e := range elems {
			if tapOfComment(e.Comment) == tap {
				*s.dst = append(*s.dst, nftables.SetElement{Key: e.Key, Comment: e.Comment})
			}
		}
	}
	if len(st.egress) == 1 {
		st.comment = st.egress[0].Comment
	}
	st.complete = len(st.egress) == 1 && len(st.ports) == 1 && st.ports[0].Comment == st.comment
	return st, nil
}

// replace queues the removal of old and the rules of g under policy p.
func (tx *vmTx) replace(old vmState, g Guest, mac net.HardwareAddr, p Policy, comment string) error {
	tap, mode := g.Tap, p.Effective()
	keepResolved := mode == PolicyAllow && sameDomains(old.comment, comment)
	if err := tx.remove(tap, old, mode == PolicyAllow, mode != PolicyNone, keepResolved); err != nil {
		return err
	}
	if len(old.taps) == 0 {
		if err := tx.conn.SetAddElements(tx.taps, []nftables.SetElement{{Key: ifnameBytes(tap), Comment: tap}}); err != nil {
			return err
		}
	}
	elem := func(key []byte, v *expr.Verdict) []nftables.SetElement {
		return []nftables.SetElement{{Key: key, VerdictData: v, Comment: comment}}
	}
	if mode == PolicyAllow {
		ch := tx.chain(tx.inet, tap)
		if !tx.inetSets[vmResolvedAny(tap)] {
			for _, s := range resolvedSets(tx.inet, tap) {
				if err := tx.conn.AddSet(s, nil); err != nil {
					return err
				}
			}
		}
		addRules(tx.conn, ch, allowVMRules(tap, p))
	}
	if err := tx.conn.SetAddElements(tx.egress, elem(g.IP.AsSlice(), egressVerdict(tap, p))); err != nil {
		return err
	}
	if mode == PolicyOpen {
		if err := tx.conn.SetAddElements(tx.open, elem(g.IP.AsSlice(), nil)); err != nil {
			return err
		}
	}
	if mode == PolicyNone {
		if err := tx.conn.SetAddElements(tx.isolated, elem(ifnameBytes(tap), nil)); err != nil {
			return err
		}
		return tx.conn.SetAddElements(tx.ports, elem(ifnameBytes(tap), &expr.Verdict{Kind: expr.VerdictDrop}))
	}
	ch := tx.chain(tx.br, tap)
	addRules(tx.conn, ch, bridgeVMRules(mac, g.IP))
	return tx.conn.SetAddElements(tx.ports, elem(ifnameBytes(tap), &expr.Verdict{Kind: expr.VerdictJump, Chain: ch.Name}))
}

// chain returns the VM's chain in t, queuing its creation if needed.
func (tx *vmTx) chain(t *nftables.Table, tap string) *nftables.Chain {
	ch := &nftables.Chain{Name: vmChain(tap), Table: t}
	have := tx.inetChains
	if t == tx.br {
		have = tx.brChains
	}
	if !have[ch.Name] {
		tx.conn.AddChain(ch)
	}
	return ch
}

// remove queues the removal of the VM's entries and rules, except its
// entry in the taps set. Its inet and bridge chains are emptied, and
// deleted unless keepInet or keepBridge says they are about to be filled
// again; its resolved sets are deleted unless keepResolved.
func (tx *vmTx) remove(tap string, st vmState, keepInet, keepBridge, keepResolved bool) error {
	for _, d := range []struct {
		set   *nftables.Set
		elems []nftables.SetElement
	}{{tx.egress, st.egress}, {tx.open, st.open}, {tx.ports, st.ports}, {tx.isolated, st.isolated}} {
		if len(d.elems) > 0 {
			if err := tx.conn.SetDeleteElements(d.set, d.elems); err != nil {
				return err
			}
		}
	}
	name := vmChain(tap)
	if tx.inetChains[name] {
		ch := &nftables.Chain{Name: name, Table: tx.inet}
		tx.conn.FlushChain(ch)
		if !keepInet {
			tx.conn.DelChain(ch)
			delete(tx.inetChains, name)
		}
	}
	for _, s := range resolvedSets(tx.inet, tap) {
		switch {
		case !tx.inetSets[s.Name]:
		case keepResolved:
		case keepInet:
			tx.conn.FlushSet(s)
		default:
			tx.conn.DelSet(s)
			delete(tx.inetSets, s.Name)
		}
	}
	if tx.brChains[name] {
		ch := &nftables.Chain{Name: name, Table: tx.br}
		tx.conn.FlushChain(ch)
		if !keepBridge {
			tx.conn.DelChain(ch)
			delete(tx.brChains, name)
		}
	}
	return nil
}

// removeVMRules removes everything the caller's tables, of any bridge,
// hold for the VM on tap, in one transaction.
func removeVMRules(caller int, tap string) error {
	conn, err := nftables.New()
	if err != nil {
		return nftError("opening nftables", err)
	}
	inets, err := ownInetTables(conn, caller)
	if err != nil {
		return nftError("listing nftables tables", err)
	}
	changed := false
	for _, t := range inets {
		tx, err := openVMTx(conn, caller, strings.TrimPrefix(t.Name, tablePrefix(caller)))
		if errors.Is(err, errdefs.ErrFailedPrecondition) {
			continue // a table that is not (or not yet) whole has no VM rules
		}
		if err != nil {
			return err
		}
		st, err := tx.read(tap)
		if err != nil {
			return nftError("reading the rules of "+tap, err)
		}
		if len(st.egress)+len(st.open)+len(st.ports)+len(st.taps)+len(st.isolated) == 0 && !tx.inetChains[vmChain(tap)] && !tx.brChains[vmChain(tap)] && !tx.inetSets[vmResolvedAny(tap)] {
			continue
		}
		if err := tx.remove(tap, st, false, false, false); err != nil {
			return fmt.Errorf("removing the rules of %s: %w", tap, err)
		}
		if len(st.taps) > 0 {
			if err := conn.SetDeleteElements(tx.taps, st.taps); err != nil {
				return fmt.Errorf("removing the rules of %s: %w", tap, err)
			}
		}
		changed = true
	}
	if !changed {
		return nil
	}
	if err := conn.Flush(); err != nil {
		return nftError("removing the rules of "+tap, err)
	}
	return nil
}

// beginVMTx brings the caller's tables of c up to date and opens a
// transaction on the VM entries in them.
func beginVMTx(caller int, c Config) (*nftables.Conn, *vmTx, error) {
	if err := ensureTables(caller, c); err != nil {
		return nil, nil, err
	}
	conn, err := nftables.New()
	if err != nil {
		return nil, nil, nftError("opening nftables", err)
	}
	tx, err := openVMTx(conn, caller, c.Bridge)
	if err != nil {
		return nil, nil, err
	}
	return conn, tx, nil
}

// enterTap adds a new tap to the caller's bridge table of c as dropping
// every frame from it, unless the tap is there already (SetPolicy may
// have bound it before it was plugged in again).
func enterTap(caller int, c Config, tap string) error {
	conn, tx, err := beginVMTx(caller, c)
	if err != nil {
		return fmt.Errorf("entering tap %s: %w", tap, err)
	}
	st, err := tx.read(tap)
	if err != nil {
		return nftError("reading the rules of "+tap, err)
	}
	if len(st.taps) > 0 && len(st.ports) > 0 {
		return nil
	}
	if len(st.taps) == 0 {
		if err := conn.SetAddElements(tx.taps, []nftables.SetElement{{Key: ifnameBytes(tap), Comment: tap}}); err != nil {
			return err
		}
	}
	if len(st.ports) == 0 {
		if err := conn.SetAddElements(tx.ports, []nftables.SetElement{{Key: ifnameBytes(tap), VerdictData: &expr.Verdict{Kind: expr.VerdictDrop}, Comment: tap}}); err != nil {
			return err
		}
	}
	if err := conn.Flush(); err != nil {
		return nftError("entering tap "+tap+" in the bridge's rules", err)
	}
	return nil
}
