package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"banger/internal/config"
)

// execute runs args through a fresh tree of a, returning stdout.
func execute(t *testing.T, a *app, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	a.stdout = &out
	root := newRoot(a)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	if err := root.Execute(); err != nil {
		t.Fatalf("banger %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// Commands that take nothing from the config neither read config.toml
// nor probe the host: not even to make the tree.
func TestConfigReadOnlyByCommandsThatNeedIt(t *testing.T) {
	hermetic(t)
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	var read []string
	a.config = func() (*config.Config, error) {
		read = append(read, "config")
		return config.Default(), nil
	}
	a.vmDefaults = func() config.ResolvedDefaults {
		read = append(read, "host defaults")
		return config.ResolveVMDefaults(config.VMDefaults{}, config.Host{CPUs: 8, MemoryBytes: 16 << 30})
	}
	for _, args := range [][]string{{"version"}, {"--help"}, {"vm", "--help"}, {"vm", "list", "--help"}, {"daemon", "status"}} {
		execute(t, a, args...)
		if len(read) > 0 {
			t.Errorf("banger %s read the %s", strings.Join(args, " "), strings.Join(read, " and the "))
			read = nil
		}
	}
	for _, args := range [][]string{{"vm", "run", "--help"}, {"help", "vm", "create"}, {"image", "warm", "--help"}} {
		if out := execute(t, a, args...); !strings.Contains(out, "virtual CPUs") || !strings.Contains(out, "[auto] (default 2)") {
			t.Errorf("banger %s shows no host default:\n%s", strings.Join(args, " "), out)
		}
		if len(read) == 0 {
			t.Errorf("banger %s read neither config nor host defaults", strings.Join(args, " "))
		}
		read = nil
	}
}

// The defaults of [vm_defaults] show in --help, and a flag given on the
// command line wins over them.
func TestDeferredDefaultsFromConfig(t *testing.T) {
	hermetic(t)
	dir := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "banger")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte("default_image_name = \"alpine\"\n[vm_defaults]\nvcpu = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	out := execute(t, a, "vm", "create", "--help")
	for _, want := range []string{"virtual CPUs [config] (default 3)", `pulled on demand (default "alpine")`} {
		if !strings.Contains(out, want) {
			t.Errorf("vm create --help lacks %q:\n%s", want, out)
		}
	}
	cmd := newVMRunCmd(a)
	if err := cmd.ParseFlags([]string{"--vcpu", "2"}); err != nil {
		t.Fatal(err)
	}
	cmd.PreRun(cmd, nil)
	f := cmd.Flags()
	if v, _ := f.GetInt("vcpu"); v != 2 {
		t.Errorf("--vcpu 2 with vcpu = 3 in the config gives %d", v)
	}
	if img, _ := f.GetString("image"); img != "alpine" {
		t.Errorf("--image defaults to %q, want the config's alpine", img)
	}
	if fl := f.Lookup("vcpu"); fl.DefValue != "3" || fl.Changed != true {
		t.Errorf("--vcpu: default %q, changed %v; want 3 and true", fl.DefValue, fl.Changed)
	}
}

func TestSetDefaultKeepsTheGivenValue(t *testing.T) {
	f := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var mib int
	f.Var(memoryValue{&mib}, "memory", memoryUsage)
	if err := f.Parse([]string{"--memory", "4G"}); err != nil {
		t.Fatal(err)
	}
	setDefault(f, "memory", "2048", "auto")
	fl := f.Lookup("memory")
	if mib != 4096 || fl.DefValue != "2048" || fl.Usage != memoryUsage+" [auto]" {
		t.Errorf("after setDefault: %d MiB, default %q, usage %q", mib, fl.DefValue, fl.Usage)
	}
}
