package secretfile

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var testSecret = Secret{Prefix: "t_", Name: "the test secret", Renew: "remove the file"}

func TestEnsureKeepsAndNewReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config", "secret")
	first, err := testSecret.Ensure(path)
	if err != nil || !regexp.MustCompile(`^t_[0-9a-f]{64}$`).MatchString(first) {
		t.Fatalf("Ensure = %q, %v; want t_ and 64 hex digits", first, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v, %v; want 0600", st.Mode(), err)
	}
	if again, err := testSecret.Ensure(path); err != nil || again != first {
		t.Fatalf("second Ensure = %q, %v; want the same secret", again, err)
	}
	next, err := testSecret.New(path)
	if err != nil || next == first {
		t.Fatalf("New = %q, %v; want another secret", next, err)
	}
	if got, err := testSecret.Load(path); err != nil || got != next {
		t.Fatalf("Load after New = %q, %v", got, err)
	}
}

func TestLoadRefusesMalformed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	for _, bad := range []string{"short\n", strings.Repeat("ab", 32) + "\n", "t_" + strings.Repeat("zz", 32)} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := testSecret.Load(path)
		if err == nil || !strings.Contains(err.Error(), "the test secret in "+path+" is malformed: remove the file") {
			t.Errorf("Load(%q) = %v; want it called malformed, with the hint", bad, err)
		}
	}
}

func TestWithoutPrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	s := Secret{Name: "a bare secret"}
	got, err := s.Ensure(path)
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(got) {
		t.Fatalf("Ensure = %q, %v; want 64 hex digits", got, err)
	}
}

func TestEqual(t *testing.T) {
	if !Equal("abc", "abc") || Equal("abd", "abc") || Equal("ab", "abc") || Equal("", "") {
		t.Error("Equal is wrong")
	}
}
