package doctor

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	results := []Result{
		{Name: "kvm", Status: Warn, Summary: "PVM host", Fix: "use a PVM guest kernel"},
		{Name: "firecracker", Status: Pass, Summary: "Firecracker v1.8.0"},
		{Name: "nft", Status: Fail, Summary: "nft not found", Fix: "sudo apt-get install nftables"},
		{Name: "vm defaults", Status: Pass, Summary: "4 vcpu", Details: []string{"vcpu  4  (auto)"}},
	}
	var b strings.Builder
	if err := Write(&b, results); err != nil {
		t.Fatal(err)
	}
	want := `warn  kvm          PVM host
      fix: use a PVM guest kernel
ok    firecracker  Firecracker v1.8.0
FAIL  nft          nft not found
      fix: sudo apt-get install nftables
ok    vm defaults  4 vcpu
      vcpu  4  (auto)
2 ok, 1 warnings, 1 failed
`
	if b.String() != want {
		t.Fatalf("Write output:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestStatusJSON(t *testing.T) {
	b, err := json.Marshal(Result{Name: "kvm", Status: Fail, Summary: "missing", Fix: "load kvm"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"kvm","status":"fail","summary":"missing","fix":"load kvm"}`
	if string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.Status != Fail {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	for _, s := range []Status{Pass, Warn} {
		b, _ := json.Marshal(s)
		var got Status
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("status %v: round trip %s -> %v, %v", s, b, got, err)
		}
	}
	if _, err := json.Marshal(Status(7)); err == nil {
		t.Error("invalid status marshalled")
	}
}
