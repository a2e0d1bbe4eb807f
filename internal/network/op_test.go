package network

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"banger/internal/errdefs"
)

func TestOpJSONRoundTrip(t *testing.T) {
	c := Config{Bridge: "banger0", Subnet: netip.MustParsePrefix("172.16.0.0/24")}
	tests := []struct {
		op   Op
		json string
	}{
		{Op{Kind: OpEnsureBridge, Config: c}, `{"op":"ensure-bridge","config":{"bridge":"banger0","subnet":"172.16.0.0/24"}}`},
		{Op{Kind: OpEnsureTap, Config: c, Tap: "bg-abc", Owner: 1000}, `{"op":"ensure-tap","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-abc","owner":1000}`},
		{Op{Kind: OpDeleteTap, Tap: "bg-abc"}, `{"op":"delete-tap","tap":"bg-abc"}`},
		{Op{Kind: OpTeardown, Config: c}, `{"op":"teardown","config":{"bridge":"banger0","subnet":"172.16.0.0/24"}}`},
		{Op{Kind: OpRouteDNS, Config: c}, `{"op":"route-dns","config":{"bridge":"banger0","subnet":"172.16.0.0/24"}}`},
		{setPolicyOp(c, Guest{Tap: "bg-abc", MAC: "06:00:ac:10:00:02", IP: netip.MustParseAddr("172.16.0.2")}, Policy{Mode: PolicyAllow, Allow: []AllowRule{{Domain: "example.com", Port: 443}}}),
			`{"op":"set-policy","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"guest":{"tap":"bg-abc","mac":"06:00:ac:10:00:02","ip":"172.16.0.2"},"policy":"allow=example.com:443"}`},
		{allowResolvedOp(c, "bg-abc", []netip.AddrPort{netip.MustParseAddrPort("203.0.113.7:443"), netip.MustParseAddrPort("203.0.113.8:0")}, time.Second),
			`{"op":"allow-resolved","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-abc","dests":["203.0.113.7:443","203.0.113.8:0"],"ttl":60}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.op)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.op, b, err, tt.json)
		}
		back, err := parseOp([]byte(tt.json))
		if err != nil || !reflect.DeepEqual(back, tt.op) {
			t.Errorf("parseOp(%s) = %+v, %v; want %+v", tt.json, back, err, tt.op)
		}
	}
}

func TestParseOpRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"op":"format-disk"}`, `unknown network operation "format-disk"`},
		{`{"op":"delete-tap","tap":"eth0"}`, `does not start with "bg-"`},
		{`{"op":"delete-tap","tap":"bg-a","extra":1}`, `unknown field "extra"`},
		{`{"op":"teardown","config":{"bridge":"banger0","subnet":"10.0.0.0/8"}}`, `out of range`},
		{`{"op":"ensure-tap","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-waytoolongname"}`, `longer than 15 bytes`},
		{`{"op":"ensure-tap","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-a","owner":-1}`, `uid -1 is not a valid uid`},
		{`{"op":"delete-tap","tap":"bg-a"} {}`, `data after the JSON object`},
		{`not json`, `decoding network operation`},
		{`{"op":"delete-tap","tap":"bg-a","config":{"bridge":"banger0","subnet":"172.16.0.0/24"}}`, `does not take "config"`},
		{`{"op":"teardown","config":{"bridge":"banger0","subnet":"8.8.8.0/24"}}`, `is not a private range`},
		{`{"op":"set-policy","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"guest":{"tap":"bg-a","mac":"06:00:ac:10:00:02","ip":"172.16.0.2"}}`, `needs "policy"`},
		{`{"op":"set-policy","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"guest":{"tap":"bg-a","mac":"06:00:ac:10:00:02","ip":"172.16.0.1"},"policy":"none"}`, `is not a guest address`},
		{`{"op":"set-policy","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"guest":{"tap":"bg-a","mac":"07:00:ac:10:00:02","ip":"172.16.0.2"},"policy":"none"}`, `not a unicast Ethernet address`},
		{`{"op":"set-policy","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"guest":{"tap":"eth0","mac":"06:00:ac:10:00:02","ip":"172.16.0.2"},"policy":"none"}`, `does not start with "bg-"`},
		{`{"op":"set-policy","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"guest":{"tap":"bg-a","mac":"06:00:ac:10:00:02","ip":"172.16.0.2"},"policy":"allow=*"}`, `no wildcards`},
		{`{"op":"set-policy","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"guest":{"tap":"bg-a","mac":"06:00:ac:10:00:02","ip":"172.16.0.2","x":1},"policy":"none"}`, `unknown field "x"`},
		{`{"op":"allow-resolved","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-a","dests":["169.254.169.254:80"],"ttl":60}`, `never allowed`},
		{`{"op":"allow-resolved","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-a","dests":["[::1]:80"],"ttl":60}`, `not IPv4`},
		{`{"op":"allow-resolved","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-a","dests":["1.2.3.4:80"],"ttl":1}`, `TTL 1s is out of range`},
		{`{"op":"allow-resolved","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-a","dests":[],"ttl":60}`, `takes 1 to 64 destinations`},
		{`{"op":"allow-resolved","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-a","dests":["1.2.3.4:80"],"ttl":60,"owner":5}`, `does not take "owner"`},
	}
	for _, tt := range tests {
		_, err := parseOp([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("parseOp(%s) = %v, want an invalid_argument error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestRunHelperUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"net"}, {"nett", "{}"}, {"net", "{}", "x"}} {
		err := RunHelper(args)
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "usage: bangerd net") {
			t.Errorf("RunHelper(%q) = %v, want a usage error", args, err)
		}
	}
}

// FuzzParseOp: whatever the helper is handed, parsing never panics,
// fails only with invalid_argument, and what it accepts passes check and
// survives a round trip through JSON.
func FuzzParseOp(f *testing.F) {
	for _, s := range []string{
		`{"op":"ensure-tap","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-abc","owner":1000}`,
		`{"op":"delete-tap","tap":"bg-abc"}`,
		`{"op":"teardown","config":{"bridge":"b","subnet":"10.1.0.0/16"}}`,
		`{"op":"ensure-bridge","config":{"bridge":"bg-x","subnet":"1.2.3.4/30"}}`,
		`{"op":"set-policy","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"guest":{"tap":"bg-abc","mac":"06:00:ac:10:00:02","ip":"172.16.0.2"},"policy":"allow=example.com:443,10.0.0.0/8"}`,
		`{"op":"allow-resolved","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-abc","dests":["203.0.113.7:443","203.0.113.8:0"],"ttl":60}`,
		`{}`, `[]`, `null`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		op, err := parseOp([]byte(in))
		if err != nil {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("parseOp(%q) = %v, want kind invalid_argument", in, err)
			}
			return
		}
		if err := op.check(); err != nil {
			t.Fatalf("accepted op %+v fails check: %v", op, err)
		}
		b, err := json.Marshal(op)
		if err != nil {
			t.Fatalf("Marshal of accepted op %+v: %v", op, err)
		}
		back, err := parseOp(b)
		if err != nil || !reflect.DeepEqual(back, op) {
			t.Fatalf("round trip of %s = %+v, %v; want %+v", b, back, err, op)
		}
	})
}
