package apikey

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKeyLooksLikeE2Bs: a key is e2b_ and 64 hex digits, and a malformed
// one is refused with how to make a new one.
func TestKeyLooksLikeE2Bs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config", "e2b-api-key")
	first, err := Secret.Ensure(path)
	if err != nil || !regexp.MustCompile(`^e2b_[0-9a-f]{64}$`).MatchString(first) {
		t.Fatalf("Ensure = %q, %v; want e2b_ and 64 hex digits", first, err)
	}
	if next, err := Secret.New(path); err != nil || next == first {
		t.Fatalf("New = %q, %v; want another key", next, err)
	}
	if err := os.WriteFile(path, []byte(first[len(Prefix):]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Secret.Load(path); err == nil || !strings.Contains(err.Error(), "`banger e2b env` makes a new one") {
		t.Fatalf("Load of a key without its prefix = %v; want it refused with the hint", err)
	}
}
