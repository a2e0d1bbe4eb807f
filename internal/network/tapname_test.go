package network

import (
	"strings"
	"testing"
)

func TestTapName(t *testing.T) {
	tests := []struct{ id, want string }{
		{"k3x9a", "bg-k3x9a"},
		{"abcdefghijk", "bg-abcdefghijk"},
		{"abcdefghijkl", "bg-d682ed4ca4d9"}, // 12 bytes: the hash of the id
		{"Web", "bg-2975104784a4"},          // upper case: the hash
	}
	for _, tt := range tests {
		if got := TapName(tt.id); got != tt.want {
			t.Errorf("TapName(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
	for _, id := range []string{"", "a/b c", "bg-bg-bg-bg-bg"} {
		checkTapNameProperties(t, id, TapName(id))
	}
	if a, b := TapName("vm-one"), TapName("vm-two"); a == b {
		t.Errorf("TapName gives %q for two different ids", a)
	}
}

func FuzzTapName(f *testing.F) {
	for _, s := range []string{"", "a", "abcdefghijk", "abcdefghijkl", "UPPER", "with space", "ünïcode", "bg-x", strings.Repeat("z", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		checkTapNameProperties(t, id, TapName(id))
	})
}

// checkTapNameProperties checks what every tap name must be: valid, short,
// prefixed, stable, and accepted by the functions that act on taps.
func checkTapNameProperties(t *testing.T, id, name string) {
	t.Helper()
	if len(name) > 15 {
		t.Errorf("TapName(%q) = %q, longer than 15 bytes", id, name)
	}
	if err := checkTapName(name); err != nil {
		t.Errorf("TapName(%q) = %q, which banger refuses: %v", id, name, err)
	}
	if again := TapName(id); again != name {
		t.Errorf("TapName(%q) is not stable: %q then %q", id, name, again)
	}
	verbatim := name == TapPrefix+id
	if verbatim != (len(id) >= 1 && len(id) <= 11 && isLowerAlnum(id)) {
		t.Errorf("TapName(%q) = %q: used the id verbatim = %v, want it only for 1 to 11 lower-case letters and digits", id, name, verbatim)
	}
	if !verbatim && len(name) != 15 {
		t.Errorf("TapName(%q) = %q: a hashed name must be 15 bytes so it cannot collide with a verbatim one", id, name)
	}
}
