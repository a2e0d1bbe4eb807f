package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"

	"banger/internal/errdefs"
)

// SetPolicy installs or replaces the rules of guest g on the bridge of c
// for this process's user; see Client.SetPolicy.
func SetPolicy(c Config, g Guest, p Policy) error {
	return setPolicyOp(c, g, p).Apply(myUID())
}

// AllowResolved adds resolved destinations to the allow sets of the VM on
// tap; see Client.AllowResolved.
func AllowResolved(c Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	return allowResolvedOp(c, tap, dests, ttl).Apply(myUID())
}

func setPolicy(caller int, c Config, g Guest, p Policy) error {
	if err := needOwnPort(caller, c, g.Tap); err != nil {
		return fmt.Errorf("setting the network policy of %s: %w", g.Tap, err)
	}
	conn, err := nftables.New()
	if err != nil {
		return nftError("opening nftables", err)
	}
	tx, err := openVMTx(conn, caller, c.Bridge)
	if err != nil {
		return err
	}
	old, err := tx.read(g.Tap)
	if err != nil {
		return nftError("reading the rules of "+g.Tap, err)
	}
	want := vmComment(c, g, p)
	if old.comment == want && old.complete {
		return nil
	}
	mac, _ := guestMAC(g.MAC) // checked with the op
	if err := tx.replace(old, g, mac, p, want); err != nil {
		return fmt.Errorf("setting the network policy of %s: %w", g.Tap, err)
	}
	if err := conn.Flush(); err != nil {
		return nftError("setting the network policy of "+g.Tap, err)
	}
	return dropRefusedFlows(c, g, p)
}

// needOwnPort fails unless the caller's bridge of c exists and the
// interface name is the caller's: a tap it owns, or a port of its
// bridge. The bridge family's rules key on interface names and see every
// bridge's frames, so one user's rules must never name another's tap.
func needOwnPort(caller int, c Config, name string) error {
	br, err := ownBridge(caller, c.Bridge)
	if err != nil {
		return err
	}
	if br == nil {
		return errdefs.FailedPrecondition("bridge %s does not exist; set up the bridge first", c.Bridge)
	}
	l, err := linkByName(name)
	switch {
	case err != nil:
		return err
	case l == nil:
		return errdefs.FailedPrecondition("tap %s does not exist; create it first", name)
	}
	if tap, ok := l.(*netlink.Tuntap); ok {
		if !tapOwnedBy(tap, caller) {
			return errdefs.FailedPrecondition("tap %s belongs to %s, not to uid %d; banger leaves it alone", name, tapOwnerName(tap), caller)
		}
		return nil
	}
	if l.Attrs().MasterIndex != br.Attrs().Index {
		return errdefs.FailedPrecondition("interface %s is neither a tap of uid %d nor a port of bridge %s", name, caller, c.Bridge)
	}
	return nil
}

// needBridge fails unless the caller's bridge of c exists.
func needBridge(caller int, c Config, doing string) error {
	br, err := ownBridge(caller, c.Bridge)
	if err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	if br == nil {
		return errdefs.FailedPrecondition("%s: bridge %s does not exist; set up the bridge first", doing, c.Bridge)
	}
	return nil
}

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
	tap, mode := g.Tap, p.mode()
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
	inets, _, err := ownTables(conn, caller)
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

func allowResolved(caller int, c Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	if err := needBridge(caller, c, "allowing resolved addresses for "+tap); err != nil {
		return err
	}
	conn, err := nftables.New()
	if err != nil {
		return nftError("opening nftables", err)
	}
	inet, _ := tables(caller, c.Bridge)
	sets := resolvedSets(inet, tap)
	var anyPort, perPort []nftables.SetElement
	for _, d := range dests {
		if d.Port() == 0 {
			anyPort = append(anyPort, nftables.SetElement{Key: d.Addr().AsSlice(), Timeout: ttl})
			continue
		}
		for _, proto := range []byte{6, 17} { // tcp, udp
			key := append(d.Addr().AsSlice(), proto, 0, 0, 0, byte(d.Port()>>8), byte(d.Port()), 0, 0)
			perPort = append(perPort, nftables.SetElement{Key: key, Timeout: ttl})
		}
	}
	for i, elems := range [][]nftables.SetElement{anyPort, perPort} {
		if len(elems) == 0 {
			continue
		}
		if err := refreshElements(conn, sets[i], elems); err != nil {
			if errors.Is(err, errdefs.ErrFailedPrecondition) {
				return err
			}
			return nftError("allowing resolved addresses for "+tap, err)
		}
	}
	if err := conn.Flush(); err != nil {
		return nftError("allowing resolved addresses for "+tap, err)
	}
	return nil
}

// refreshElements queues adding elems to set, first deleting those already
// in it, since adding an element again does not renew its timeout.
func refreshElements(conn *nftables.Conn, set *nftables.Set, elems []nftables.SetElement) error {
	have, err := conn.GetSetElements(set)
	if err != nil {
		return errdefs.FailedPrecondition("the VM has no allow list of resolved addresses (%v); its policy is not allow=", err)
	}
	present := map[string]bool{}
	for _, e := range have {
		present[string(e.Key)] = true
	}
	var old []nftables.SetElement
	for _, e := range elems {
		if present[string(e.Key)] {
			old = append(old, nftables.SetElement{Key: e.Key})
			delete(present, string(e.Key))
		}
	}
	if len(old) > 0 {
		if err := conn.SetDeleteElements(set, old); err != nil {
			return err
		}
	}
	return conn.SetAddElements(set, elems)
}

// enterTap adds a new tap to the caller's bridge table of c as dropping
// every frame from it, unless the tap is there already (SetPolicy may
// have bound it before it was plugged in again).
func enterTap(caller int, c Config, tap string) error {
	conn, err := nftables.New()
	if err != nil {
		return nftError("opening nftables", err)
	}
	tx, err := openVMTx(conn, caller, c.Bridge)
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
