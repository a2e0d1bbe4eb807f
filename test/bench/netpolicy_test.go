package main

import "testing"

func TestCountNft(t *testing.T) {
	// Shaped like `nft -j list ruleset`: other tables do not count.
	out := `{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
{"table": {"family": "inet", "name": "banger-0-banger0", "handle": 1}},
{"map": {"family": "inet", "name": "egress", "table": "banger-0-banger0", "type": "ipv4_addr", "handle": 1, "map": "verdict",
  "elem": [[{"elem": {"val": "172.16.0.2", "comment": "bg-a"}}, {"jump": {"target": "internet"}}]]}},
{"set": {"family": "inet", "name": "open", "table": "banger-0-banger0", "type": "ipv4_addr", "handle": 2}},
{"set": {"family": "bridge", "name": "taps", "table": "banger-0-banger0", "type": "ifname", "handle": 3,
  "elem": [{"elem": {"val": "", "comment": "bg-a"}}, {"elem": {"val": "", "comment": "bg-b"}}]}},
{"rule": {"family": "inet", "table": "banger-0-banger0", "chain": "from-guests", "handle": 5, "expr": []}},
{"rule": {"family": "bridge", "table": "banger-0-banger0", "chain": "vm-bg-a", "handle": 6, "expr": []}},
{"rule": {"family": "ip", "table": "docker", "chain": "x", "handle": 7, "expr": []}}]}`
	rules, elems, err := countNft([]byte(out))
	if err != nil || rules != 2 || elems != 3 {
		t.Errorf("countNft = %d rules, %d elements, %v; want 2, 3", rules, elems, err)
	}
}

func TestFastHalfMean(t *testing.T) {
	// Two runs slowed by other load leave the figure alone.
	s := samples{4e9, 9e9, 4.2e9, 4.4e9, 8e9}
	if got := s.fastHalfMean(); got != 4.2e9 {
		t.Errorf("fastHalfMean = %v, want 4.2s", got)
	}
	// A cost paid on every run shows in full.
	var slower samples
	for _, d := range s {
		slower = append(slower, d+5e8)
	}
	row := fastHalfRatioRow("x", slower, s, 1.05)
	if row.value != "1.12x" || row.target != "<= 1.05x: MISSED" {
		t.Errorf("ratio row = %+v, want 1.12x, missed", row)
	}
}
