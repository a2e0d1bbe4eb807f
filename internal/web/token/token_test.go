package token

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureKeepsAndNewReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "web-token")
	first, err := Ensure(path)
	if err != nil || len(first) != 2*size {
		t.Fatalf("Ensure = %q, %v; want a %d-digit token", first, err, 2*size)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, %v; want 0600", st.Mode(), err)
	}
	if again, err := Ensure(path); err != nil || again != first {
		t.Fatalf("second Ensure = %q, %v; want the same token", again, err)
	}
	next, err := New(path)
	if err != nil || next == first {
		t.Fatalf("New = %q, %v; want another token", next, err)
	}
	if got, err := Load(path); err != nil || got != next {
		t.Fatalf("Load after New = %q, %v", got, err)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("Load accepted a malformed token")
	}
}

func TestEqual(t *testing.T) {
	if !Equal("abc", "abc") || Equal("abd", "abc") || Equal("ab", "abc") || Equal("", "") {
		t.Error("Equal is wrong")
	}
}
