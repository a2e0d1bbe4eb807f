package paths

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func noPath(string) (string, error) { return "", errors.New("not on PATH") }

func TestAgentBinaryEnvWins(t *testing.T) {
	got, err := findAgentBinary(env(map[string]string{AgentBinaryEnv: "/x/agent"}), "/usr/bin/bangerd", noPath)
	if err != nil || got != "/x/agent" {
		t.Fatalf("got %q, %v; want the path from %s", got, err, AgentBinaryEnv)
	}
}

func TestAgentBinaryInstalledBesideBanger(t *testing.T) {
	prefix := t.TempDir()
	exe := filepath.Join(prefix, "bin", "bangerd")
	want := filepath.Join(prefix, "lib", "banger", "banger-vsock-agent")
	for _, p := range []string{exe, want, filepath.Join(prefix, "bin", "banger-vsock-agent")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := findAgentBinary(env(nil), exe, noPath)
	if err != nil || got != want {
		t.Fatalf("got %q, %v; want the installed %s", got, err, want)
	}
}

func TestAgentBinaryMissingSaysHowToFix(t *testing.T) {
	_, err := findAgentBinary(env(nil), filepath.Join(t.TempDir(), "bangerd"), noPath)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), AgentBinaryEnv) || !strings.Contains(err.Error(), "make install") {
		t.Fatalf("err = %v, want a failed precondition naming make install and %s", err, AgentBinaryEnv)
	}
}
