package paths

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestXDGVariablesWin(t *testing.T) {
	d, err := FromEnv(env(map[string]string{
		"HOME":            "/home/u",
		"XDG_CONFIG_HOME": "/x/cfg",
		"XDG_STATE_HOME":  "/x/state",
		"XDG_CACHE_HOME":  "/x/cache",
		"XDG_RUNTIME_DIR": "/run/user/1000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Dirs{Config: "/x/cfg/banger", State: "/x/state/banger", Cache: "/x/cache/banger", Runtime: "/run/user/1000/banger"}
	if d != want {
		t.Fatalf("got %+v, want %+v", d, want)
	}
	if d.ConfigFile() != "/x/cfg/banger/config.toml" || d.Socket() != "/run/user/1000/banger/bangerd.sock" {
		t.Fatalf("unexpected file paths: %s %s", d.ConfigFile(), d.Socket())
	}
}

func TestHomeFallback(t *testing.T) {
	d, err := FromEnv(env(map[string]string{"HOME": "/home/u"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Dirs{Config: "/home/u/.config/banger", State: "/home/u/.local/state/banger", Cache: "/home/u/.cache/banger", Runtime: "/home/u/.local/state/banger/run"}
	if d != want {
		t.Fatalf("got %+v, want %+v", d, want)
	}
}

func TestRelativeXDGIsAnError(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"HOME": "/h", "XDG_STATE_HOME": "rel"}))
	if err == nil || !strings.Contains(err.Error(), "XDG_STATE_HOME") {
		t.Fatalf("err = %v, want one naming XDG_STATE_HOME", err)
	}
}

func TestNoHomeNoXDG(t *testing.T) {
	if _, err := FromEnv(env(nil)); err == nil {
		t.Fatal("expected an error with neither HOME nor XDG set")
	}
}

func TestSocketTooLong(t *testing.T) {
	d := Dirs{Runtime: "/" + strings.Repeat("a", 120)}
	if err := d.CheckSocket(); err == nil || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
		t.Fatalf("err = %v, want advice about XDG_RUNTIME_DIR", err)
	}
}

// TestRuntimeDirIsAFile: a file where the runtime dir, or a parent of it,
// should be is named, with the fix.
func TestRuntimeDirIsAFile(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "banger")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := Dirs{Runtime: file}.CheckSocket()
	if err == nil || !strings.Contains(err.Error(), "runtime dir "+file+" is a file, not a directory") || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
		t.Fatalf("runtime dir is a file: %v", err)
	}
	err = Dirs{Runtime: filepath.Join(file, "x", "banger")}.CheckSocket()
	if err == nil || !strings.Contains(err.Error(), file+" is a file, not a directory") {
		t.Fatalf("runtime dir under a file: %v", err)
	}
	if err := (Dirs{Runtime: filepath.Join(tmp, "not", "yet")}).CheckSocket(); err != nil {
		t.Fatalf("runtime dir not made yet: %v", err)
	}
}
