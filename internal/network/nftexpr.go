package network

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// exprs is a piece of a rule: a match or a verdict. Rules are written as
// lists of pieces, like nft's own syntax.
type exprs = []expr.Any

func flat(parts ...exprs) []expr.Any { return slices.Concat(parts...) }

var (
	accept = exprs{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}
	drop   = exprs{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}
)

func jump(chain string) exprs {
	return exprs{&expr.Verdict{Kind: expr.VerdictJump, Chain: chain}}
}

// ifname matches the input or output interface name (or, with the
// MetaKeyBRI keys, the bridge's name).
func ifname(key expr.MetaKey, op expr.CmpOp, name string) exprs {
	return exprs{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifnameBytes(name)},
	}
}

func ifnameBytes(name string) []byte {
	data := make([]byte, unix.IFNAMSIZ)
	copy(data, name)
	return data
}

// ipv4 matches IPv4 packets in the inet family; every IPv4 header match
// there needs it first.
var ipv4 = exprs{
	&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
	&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
}

// Offsets in the IPv4 header.
const (
	ipSaddr = 12
	ipDaddr = 16
)

// ipAddr matches the IPv4 source or destination (off) against a prefix.
func ipAddr(off uint32, op expr.CmpOp, p netip.Prefix) exprs {
	load := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4}
	if p.Bits() == 32 {
		return exprs{load, &expr.Cmp{Op: op, Register: 1, Data: p.Addr().AsSlice()}}
	}
	return exprs{load,
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: netmaskBytes(p.Bits()), Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

// ipLookup matches the IPv4 source or destination (off) against a named
// set, or sends it through a verdict map.
func ipLookup(off uint32, set string, isMap bool) exprs {
	return exprs{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: set, IsDestRegSet: isMap},
	}
}

// l4 matches the transport protocol, and the destination port unless it
// is 0.
func l4(proto byte, port uint16) exprs {
	e := exprs{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
	if port != 0 {
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)})
	}
	return e
}

// established matches packets of connections conntrack has seen replies
// to, and their related ICMP errors.
var established = exprs{
	&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
	&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
		Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
		Xor:  make([]byte, 4)},
	&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
}

// Link layer matches, for the bridge family.
func etherType(t uint16) exprs {
	return exprs{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: 12, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, t)},
	}
}

func etherSaddr(op expr.CmpOp, mac net.HardwareAddr) exprs {
	return exprs{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6},
		&expr.Cmp{Op: op, Register: 1, Data: mac},
	}
}

// networkBytes matches raw bytes of the layer 3 header, for ARP's sender
// fields.
func networkBytes(off uint32, data []byte) exprs {
	return exprs{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(len(data))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data},
	}
}

func netmaskBytes(bits int) []byte {
	m := ^uint32(0) << (32 - bits)
	return []byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}
