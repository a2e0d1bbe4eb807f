package network

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// TableName is the nftables table banger owns, in the ip family.
const TableName = "banger"

var table = &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}

// chainSpec and ruleSpec describe the table as it should be.
type chainSpec struct {
	chain *nftables.Chain
	rules []ruleSpec
}

type ruleSpec struct {
	comment string // also how an up-to-date table is recognised
	exprs   []expr.Any
}

// wantTable returns banger's table for c: a postrouting chain that
// masquerades the subnet on its way out of any other interface, and a
// forward chain that accepts traffic out of the bridge and established or
// related traffic back into it. Both chains accept by default, so they
// never drop the host's other traffic.
func wantTable(c Config) []chainSpec {
	return []chainSpec{natChain(c), forwardChain(c)}
}

var acceptPolicy = nftables.ChainPolicyAccept

func natChain(c Config) chainSpec {
	subnet := c.Subnet.Masked()
	return chainSpec{
		chain: &nftables.Chain{Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &acceptPolicy},
		rules: []ruleSpec{{
			comment: fmt.Sprintf("banger: masquerade %s leaving through other interfaces than %s", subnet, c.Bridge),
			exprs: slices.Concat(
				[]expr.Any{
					&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}, // ip saddr
					&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: netmaskBytes(subnet.Bits()), Xor: make([]byte, 4)},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: subnet.Addr().AsSlice()},
				},
				ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, c.Bridge),
				[]expr.Any{&expr.Counter{}, &expr.Masq{}},
			),
		}},
	}
}

func forwardChain(c Config) chainSpec {
	established := []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
	accept := []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}
	return chainSpec{
		chain: &nftables.Chain{Name: "forward", Table: table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &acceptPolicy},
		rules: []ruleSpec{
			{
				comment: fmt.Sprintf("banger: accept traffic from %s out", c.Bridge),
				exprs: slices.Concat(
					ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, c.Bridge),
					ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, c.Bridge),
					accept),
			},
			{
				comment: fmt.Sprintf("banger: accept replies back into %s", c.Bridge),
				exprs: slices.Concat(
					ifname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, c.Bridge),
					ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, c.Bridge),
					established, accept),
			},
		},
	}
}

// ifname matches the input or output interface name.
func ifname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	data := make([]byte, unix.IFNAMSIZ)
	copy(data, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: data},
	}
}

func netmaskBytes(bits int) []byte {
	m := ^uint32(0) << (32 - bits)
	return []byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}

// ensureTable brings banger's table to the state wantTable describes. When
// the table already has exactly those chains and rules it is left alone;
// otherwise it is replaced in one transaction, so packets never see a
// half-built table.
func ensureTable(c Config) error {
	conn, err := nftables.New()
	if err != nil {
		return nftError("opening nftables", err)
	}
	want := wantTable(c)
	have, err := tableSummary(conn)
	if err != nil {
		return nftError("reading nftables table "+TableName, err)
	}
	if have == wantSummary(want) {
		return nil
	}
	conn.AddTable(table)
	conn.DelTable(table) // with the AddTable before it, empties any old table
	conn.AddTable(table)
	for _, cs := range want {
		conn.AddChain(cs.chain)
		for _, r := range cs.rules {
			conn.AddRule(&nftables.Rule{Table: table, Chain: cs.chain, Exprs: r.exprs,
				UserData: userdata.AppendString(nil, userdata.TypeComment, r.comment)})
		}
	}
	if err := conn.Flush(); err != nil {
		return nftError("writing nftables table "+TableName, err)
	}
	return nil
}

// deleteTable removes banger's table if it exists.
func deleteTable() error {
	conn, err := nftables.New()
	if err != nil {
		return nftError("opening nftables", err)
	}
	t, err := findTable(conn)
	if err != nil || t == nil {
		return nftError("reading nftables table "+TableName, err)
	}
	conn.DelTable(table)
	if err := conn.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return nftError("deleting nftables table "+TableName, err)
	}
	return nil
}

func findTable(conn *nftables.Conn) (*nftables.Table, error) {
	tables, err := conn.ListTablesOfFamily(table.Family)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if t.Name == TableName {
			return t, nil
		}
	}
	return nil, nil
}

// tableSummary describes the table's chains and the comments of their
// rules, in a form wantSummary also produces; "" when there is no table.
func tableSummary(conn *nftables.Conn) (string, error) {
	t, err := findTable(conn)
	if err != nil || t == nil {
		return "", err
	}
	chains, err := conn.ListChainsOfTableFamily(table.Family)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != TableName {
			continue
		}
		rules, err := conn.GetRules(table, ch)
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
	slices.Sort(lines)
	return strings.Join(lines, "\n"), nil
}

func wantSummary(want []chainSpec) string {
	var lines []string
	for _, cs := range want {
		var comments []string
		for _, r := range cs.rules {
			comments = append(comments, r.comment)
		}
		lines = append(lines, chainLine(cs.chain, comments))
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
	return fmt.Sprintf("%s type=%s hook=%s prio=%s policy=%s rules=%q", ch.Name, ch.Type, hook, prio, policy, comments)
}

// nftError wraps an nftables failure, with advice when the kernel lacks
// what banger's table needs.
func nftError(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EAFNOSUPPORT) {
		return fmt.Errorf("%s: %w; the kernel may lack nftables NAT support: load it with `modprobe nf_tables nft_chain_nat nft_masq`", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func ensureTables(caller int, c Config) error { return ensureTable(c) }

func deleteTables(caller int, c Config) error { return deleteTable() }
