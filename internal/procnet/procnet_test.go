package procnet

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
	tests := map[string]string{
		"0100007F:1E61":                         "127.0.0.1:7777",
		"0500A8C0:0050":                         "192.168.0.5:80",
		"00000000000000000000000001000000:1E61": "[::1]:7777",
		"0000000000000000FFFF00000100007F:D431": "127.0.0.1:54321", // IPv4 on a dual-stack socket
	}
	for in, want := range tests {
		got, err := ParseAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "XYZ:0050", "0100007F:XYZ", "01007F:0050"} {
		if _, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) accepted", bad)
		}
	}
}

func TestScanReadsEachSocket(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1E61 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1065 1
   short line
   1: 0000000000000000FFFF00000100007F:D431 0000000000000000FFFF00000100007F:1E61 01 00000000:00000000 00:00000000 00000000  1001        0 2002 1
`
	var got []Socket
	if err := Scan(strings.NewReader(table), func(s Socket) bool { got = append(got, s); return true }); err != nil {
		t.Fatal(err)
	}
	want := []Socket{
		{netip.MustParseAddrPort("127.0.0.1:7777"), netip.MustParseAddrPort("0.0.0.0:0"), StateListen, "1000", "1065"},
		{netip.MustParseAddrPort("127.0.0.1:54321"), netip.MustParseAddrPort("127.0.0.1:7777"), "01", "1001", "2002"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Scan = %+v; want %+v", got, want)
	}
	n := 0
	Scan(strings.NewReader(table), func(Socket) bool { n++; return false })
	if n != 1 {
		t.Errorf("Scan went on to %d sockets after fn said stop", n)
	}
	if err := Scan(strings.NewReader("header\n   0: nonsense 0100007F:1E61 01 0 0 0 1000 0 1 1\n"), func(Socket) bool { return true }); err == nil {
		t.Error("Scan read a bad address without an error")
	}
}
