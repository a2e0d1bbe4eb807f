package apikey

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestEnsureKeepsAndNewReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config", "e2b-api-key")
	first, err := Ensure(path)
	if err != nil || !regexp.MustCompile(`^e2b_[0-9a-f]{64}$`).MatchString(first) {
		t.Fatalf("Ensure = %q, %v; want e2b_ and 64 hex digits", first, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", st.Mode(), err)
	}
	if again, err := Ensure(path); err != nil || again != first {
		t.Fatalf("second Ensure = %q, %v; want the same key", again, err)
	}
	next, err := New(path)
	if err != nil || next == first {
		t.Fatalf("New = %q, %v; want another key", next, err)
	}
	if got, err := Load(path); err != nil || got != next {
		t.Fatalf("Load after New = %q, %v", got, err)
	}
	for _, bad := range []string{"short\n", first[len(Prefix):] + "\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil {
			t.Fatalf("Load accepted %q", bad)
		}
	}
}

func TestEqual(t *testing.T) {
	if !Equal("e2b_ab", "e2b_ab") || Equal("e2b_ac", "e2b_ab") || Equal("e2b_a", "e2b_ab") || Equal("", "") {
		t.Error("Equal is wrong")
	}
}
