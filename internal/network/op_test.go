package network

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

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

func FuzzParseOp(f *testing.F) {
	for _, s := range []string{
		`{"op":"ensure-tap","config":{"bridge":"banger0","subnet":"172.16.0.0/24"},"tap":"bg-abc","owner":1000}`,
		`{"op":"delete-tap","tap":"bg-abc"}`,
		`{"op":"teardown","config":{"bridge":"b","subnet":"10.1.0.0/16"}}`,
		`{"op":"ensure-bridge","config":{"bridge":"bg-x","subnet":"1.2.3.4/30"}}`,
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
