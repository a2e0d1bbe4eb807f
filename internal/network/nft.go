package network

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// legacyTableName is the one table older bangers kept, in the ip family,
// for every user. Root's helper removes it.
const legacyTableName = "banger"

// TableName returns the name of the nftables tables banger keeps for
// uid's bridge: "banger-UID-BRIDGE", one in the inet family (NAT and the
// guests' layer 3 policy) and one in the bridge family (each tap bound to
// its guest's MAC and address). A user's helper touches only its own.
func TableName(uid int, bridge string) string {
	return fmt.Sprintf("banger-%d-%s", uid, bridge)
}

// tablePrefix starts the names of uid's tables.
func tablePrefix(uid int) string { return fmt.Sprintf("banger-%d-", uid) }

// tables returns the inet and bridge tables of uid's bridge.
func tables(uid int, bridge string) (inet, br *nftables.Table) {
	name := TableName(uid, bridge)
	return &nftables.Table{Name: name, Family: nftables.TableFamilyINet},
		&nftables.Table{Name: name, Family: nftables.TableFamilyBridge}
}

// tableSpec describes a table as ensureTables makes it: its named sets
// and its chains with their rules. Per-VM chains and sets come and go
// with SetPolicy and DeleteTap and are not part of it.
type tableSpec struct {
	table  *nftables.Table
	sets   []*nftables.Set
	chains []chainSpec
}

type chainSpec struct {
	chain *nftables.Chain
	rules []ruleSpec
}

type ruleSpec struct {
	comment string // also how an up-to-date table is recognised
	exprs   []exprs
}

// add queues the table, its sets, chains and rules on conn.
func (ts tableSpec) add(conn *nftables.Conn) error {
	conn.AddTable(ts.table)
	for _, s := range ts.sets {
		if err := conn.AddSet(s, nil); err != nil {
			return fmt.Errorf("set %s: %w", s.Name, err)
		}
	}
	for _, cs := range ts.chains {
		conn.AddChain(cs.chain)
		addRules(conn, cs.chain, cs.rules)
	}
	return nil
}

func addRules(conn *nftables.Conn, ch *nftables.Chain, rules []ruleSpec) {
	for _, r := range rules {
		rule := &nftables.Rule{Table: ch.Table, Chain: ch, Exprs: flat(r.exprs...)}
		if r.comment != "" {
			rule.UserData = userdata.AppendString(nil, userdata.TypeComment, r.comment)
		}
		conn.AddRule(rule)
	}
}

// ensureTables brings the caller's two tables for c.Bridge to the state
// baseTables describes. When they already are, they are left alone, and
// so are the VMs' rules in them; otherwise both are replaced in one
// transaction, so packets never see a half-built ruleset (the VMs' rules
// go with them; bangerd sets them again). Root also drops the table older
// bangers kept for every user.
func ensureTables(caller int, c Config) error {
	conn, err := nftables.New()
	if err != nil {
		return nftError("opening nftables", err)
	}
	want := baseTables(caller, c)
	upToDate := true
	for _, ts := range want {
		have, err := tableSummary(conn, ts.table)
		if err != nil {
			return nftError("reading nftables table "+ts.table.Name, err)
		}
		upToDate = upToDate && have == ts.summary()
	}
	legacy, err := legacyTable(conn, caller)
	if err != nil {
		return nftError("reading nftables table ip "+legacyTableName, err)
	}
	if upToDate && legacy == nil {
		return nil
	}
	if legacy != nil {
		conn.DelTable(legacy)
	}
	if !upToDate {
		for _, ts := range want {
			conn.AddTable(ts.table)
			conn.DelTable(ts.table) // with the AddTable before it, empties any old table
			if err := ts.add(conn); err != nil {
				return fmt.Errorf("building nftables table %s: %w", ts.table.Name, err)
			}
		}
	}
	if err := conn.Flush(); err != nil {
		return nftError("writing nftables tables "+TableName(caller, c.Bridge), err)
	}
	return nil
}

// legacyTable returns the shared table of older bangers when the caller
// is root, whose it counts as, and it exists.
func legacyTable(conn *nftables.Conn, caller int) (*nftables.Table, error) {
	if caller != 0 {
		return nil, nil
	}
	return findTable(conn, &nftables.Table{Name: legacyTableName, Family: nftables.TableFamilyIPv4})
}

// deleteTables removes the caller's tables for c.Bridge, and those of the
// caller's bridges that no longer exist; for root also the table of older
// bangers. Other users' tables are never touched.
func deleteTables(caller int, c Config) error {
	conn, err := nftables.New()
	if err != nil {
		return nftError("opening nftables", err)
	}
	doomed, err := staleTables(conn, caller, c.Bridge)
	if err != nil {
		return nftError("listing nftables tables", err)
	}
	legacy, err := legacyTable(conn, caller)
	if err != nil {
		return nftError("reading nftables table ip "+legacyTableName, err)
	}
	if legacy != nil {
		doomed = append(doomed, legacy)
	}
	if len(doomed) == 0 {
		return nil
	}
	for _, t := range doomed {
		conn.DelTable(t)
	}
	if err := conn.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return nftError("deleting nftables tables "+TableName(caller, c.Bridge), err)
	}
	return nil
}

// staleTables returns the caller's inet and bridge tables that belong to
// bridge or to a bridge that is gone.
func staleTables(conn *nftables.Conn, caller int, bridge string) ([]*nftables.Table, error) {
	var out []*nftables.Table
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyINet, nftables.TableFamilyBridge} {
		ts, err := conn.ListTablesOfFamily(fam)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			br, ok := strings.CutPrefix(t.Name, tablePrefix(caller))
			if !ok {
				continue
			}
			if l, err := linkByName(br); br == bridge || (err == nil && l == nil) {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// ownInetTables returns the caller's inet tables, of every bridge; each
// has a bridge table of the same name beside it.
func ownInetTables(conn *nftables.Conn, caller int) ([]*nftables.Table, error) {
	ts, err := conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, err
	}
	var out []*nftables.Table
	for _, t := range ts {
		if strings.HasPrefix(t.Name, tablePrefix(caller)) {
			out = append(out, t)
		}
	}
	return out, nil
}

func findTable(conn *nftables.Conn, want *nftables.Table) (*nftables.Table, error) {
	tables, err := conn.ListTablesOfFamily(want.Family)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if t.Name == want.Name {
			return t, nil
		}
	}
	return nil, nil
}

// tableSummary describes the table's sets and base chains, with the
// comments of their rules, in a form tableSpec.summary also produces; ""
// when there is no table. Per-VM chains and sets are left out.
func tableSummary(conn *nftables.Conn, want *nftables.Table) (string, error) {
	t, err := findTable(conn, want)
	if err != nil || t == nil {
		return "", err
	}
	chains, err := conn.ListChainsOfTableFamily(want.Family)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != want.Name || isVMName(ch.Name) {
			continue
		}
		rules, err := conn.GetRules(want, ch)
		if err != nil {
			return "", err
		}
		var comments []string
		for _, r := range rules {
			s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			comments = append(comments, s)
		}
		lines = append(lines, chainLine(ch, comments))
	}
	sets, err := conn.GetSets(want)
	if err != nil {
		return "", err
	}
	for _, s := range sets {
		if !isVMName(s.Name) {
			lines = append(lines, setLine(s))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n"), nil
}

func (ts tableSpec) summary() string {
	var lines []string
	for _, cs := range ts.chains {
		var comments []string
		for _, r := range cs.rules {
			comments = append(comments, r.comment)
		}
		lines = append(lines, chainLine(cs.chain, comments))
	}
	for _, s := range ts.sets {
		lines = append(lines, setLine(s))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func chainLine(ch *nftables.Chain, comments []string) string {
	hook, prio, policy := "-", "-", "-"
	if ch.Hooknum != nil {
		hook = fmt.Sprint(*ch.Hooknum)
	}
	if ch.Priority != nil {
		prio = fmt.Sprint(*ch.Priority)
	}
	if ch.Policy != nil {
		policy = fmt.Sprint(*ch.Policy)
	}
	return fmt.Sprintf("chain %s type=%s hook=%s prio=%s policy=%s rules=%q", ch.Name, ch.Type, hook, prio, policy, comments)
}

// setLine leaves out a map's key type, which the nftables library reads
// back wrongly.
func setLine(s *nftables.Set) string {
	key := s.KeyType.Name
	if s.IsMap {
		key = "-"
	}
	return fmt.Sprintf("set %s map=%v timeout=%v key=%s", s.Name, s.IsMap, s.HasTimeout, key)
}

// nftError wraps an nftables failure, with advice when the kernel lacks
// what banger's tables need.
func nftError(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EAFNOSUPPORT) {
		return fmt.Errorf("%s: %w; the kernel may lack nftables support banger needs: load it with `modprobe nf_tables nft_chain_nat nft_masq nft_ct nft_meta_bridge`", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
