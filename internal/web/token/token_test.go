package token

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTokenIsBareHex: a token is 64 hex digits, and a malformed one is
// refused with how to make a new one.
func TestTokenIsBareHex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "web-token")
	first, err := Secret.Ensure(path)
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(first) {
		t.Fatalf("Ensure = %q, %v; want 64 hex digits", first, err)
	}
	if got, err := Secret.Load(path); err != nil || got != first {
		t.Fatalf("Load = %q, %v; want the token Ensure made", got, err)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Secret.Load(path); err == nil || !strings.Contains(err.Error(), "`banger web token --new`") {
		t.Fatalf("Load of a malformed token = %v; want it refused with the hint", err)
	}
}
