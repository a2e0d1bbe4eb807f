package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"a", "", 1}, {"same", "same", 0},
		{"kitten", "sitting", 3}, {"debian-bookwrm", "debian-bookworm", 1},
		{"vpcu", "vcpu", 1}, // a swap of neighbours is one edit
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	names := []string{"debian-bookworm", "debian-bookworm-slim"}
	if got := Closest("debian-bookwrm", names, 3); got != "debian-bookworm" {
		t.Errorf("Closest = %q, want debian-bookworm", got)
	}
	if got := Closest("ubuntu", names, 3); got != "" {
		t.Errorf("Closest(unrelated) = %q, want nothing", got)
	}
}
