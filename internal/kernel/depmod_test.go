package kernel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModulesDepOrdersDependenciesBeforeTheirOwn(t *testing.T) {
	dir := t.TempDir()
	mods := map[string]string{ // a needs c and b; b needs c: c must load first
		"kernel/a.ko":     fakeModule(t, "a", "c,b"),
		"kernel/b.ko":     fakeModule(t, "b", "c"),
		"kernel/c.ko":     fakeModule(t, "c", ""),
		"kernel/d-e.ko":   fakeModule(t, "d_e", "missing"),
		"kernel/x/f-g.ko": string(fakeELF(t, map[string][]byte{".modinfo": []byte("depends=d_e\x00")}, 0)),
	}
	for name, body := range mods {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := ensureModulesDep(dir); err != nil {
		t.Fatalf("ensureModulesDep: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"kernel/a.ko: kernel/b.ko kernel/c.ko",
		"kernel/b.ko: kernel/c.ko",
		"kernel/c.ko:",
		"kernel/d-e.ko:",
		"kernel/x/f-g.ko: kernel/d-e.ko",
	}, "\n") + "\n"
	if string(got) != want {
		t.Fatalf("modules.dep =\n%s\nwant\n%s", got, want)
	}
}
