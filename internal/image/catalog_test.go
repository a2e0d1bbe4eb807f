package image

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"banger/internal/errdefs"
)

func TestCatalogEntriesAreValid(t *testing.T) {
	entries, err := parseCatalog(catalogFS)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
		if err := e.validate(); err != nil {
			t.Errorf("%s: %v", e.Name, err)
		}
		if e.Recipe.Suite != "bookworm" || e.Recipe.Variant != "minbase" || e.Recipe.Kernel != "debian-6.1-cloud" {
			t.Errorf("%s: recipe %+v", e.Name, e.Recipe)
		}
		for _, p := range []string{"systemd-sysv", "udev", "openssh-server", "systemd-resolved", "sudo", "kmod", "dbus"} {
			if !slices.Contains(e.Recipe.Packages, p) {
				t.Errorf("%s lacks package %s", e.Name, p)
			}
		}
		for _, u := range []string{"ssh.service", "systemd-networkd.service", "systemd-network-generator.service", "systemd-resolved.service"} {
			if !slices.Contains(e.Recipe.Enable, u) {
				t.Errorf("%s does not enable %s", e.Name, u)
			}
		}
		for _, u := range []string{"apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer", "e2scrub_all.timer", "fstrim.timer", "systemd-timesyncd.service", "getty@tty1.service", "systemd-update-utmp.service"} {
			if !slices.Contains(e.Recipe.Mask, u) {
				t.Errorf("%s does not mask %s", e.Name, u)
			}
		}
	}
	if want := []string{"debian-bookworm", "debian-bookworm-slim"}; !slices.Equal(names, want) {
		t.Fatalf("catalog = %v, want %v", names, want)
	}
}

func TestGoldenHasDevTools(t *testing.T) {
	e, err := Lookup("debian-bookworm")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"docker.io", "git", "jq", "curl", "ca-certificates", "make", "build-essential", "unzip", "less", "vim-tiny", "iproute2", "iputils-ping", "procps", "netbase"} {
		if !slices.Contains(e.Recipe.Packages, p) {
			t.Errorf("golden image lacks %s", p)
		}
	}
	if !e.Recipe.Mise {
		t.Errorf("golden image must have mise: %+v", e.Recipe)
	}
	// Docker starts on first use, through its socket, not at boot.
	if !slices.Contains(e.Recipe.Enable, "docker.socket") {
		t.Errorf("golden image does not enable docker.socket: %+v", e.Recipe.Enable)
	}
	for _, u := range []string{"docker.service", "containerd.service"} {
		if !slices.Contains(e.Recipe.Disable, u) || slices.Contains(e.Recipe.Enable, u) {
			t.Errorf("golden image starts %s at boot; it should be disabled (enable %v, disable %v)", u, e.Recipe.Enable, e.Recipe.Disable)
		}
	}
}

// The slim entry is the golden one without Docker, compilers, Python and
// mise; nothing else may drift between them.
func TestSlimIsGoldenWithoutTheHeavyParts(t *testing.T) {
	golden, err := Lookup("debian-bookworm")
	if err != nil {
		t.Fatal(err)
	}
	slim, err := Lookup("debian-bookworm-slim")
	if err != nil {
		t.Fatal(err)
	}
	g := golden.Recipe
	g.Packages = slices.DeleteFunc(g.Packages, func(p string) bool { return p == "docker.io" || p == "build-essential" || p == "python3" })
	docker := func(u string) bool { return u == "docker.socket" || u == "docker.service" || u == "containerd.service" }
	g.Enable = slices.DeleteFunc(g.Enable, docker)
	g.Disable = slices.DeleteFunc(g.Disable, docker)
	g.Mise, g.Size = false, slim.Recipe.Size
	if g.Hash() != slim.Recipe.Hash() {
		t.Errorf("slim recipe drifted from golden:\nslim   %+v\ngolden %+v", slim.Recipe, g)
	}
}

func TestLookupSuggests(t *testing.T) {
	_, err := Lookup("debian-bookwrm")
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
	want := `unknown image "debian-bookwrm": did you mean "debian-bookworm"? (see banger image list --catalog)`
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	_, err = Lookup("ubuntu-noble")
	if want := `unknown image "ubuntu-noble" (see banger image list --catalog)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if _, err := Lookup("debian-bookworm-slm"); err == nil || !strings.Contains(err.Error(), `did you mean "debian-bookworm-slim"?`) {
		t.Errorf("err = %v", err)
	}
}

func TestCatalogReturnsCopies(t *testing.T) {
	c := Catalog()
	c[0].Recipe.Packages[0] = "changed"
	e, _ := Lookup(c[0].Name)
	e.Recipe.Mask[0] = "changed"
	if Catalog()[0].Recipe.Packages[0] == "changed" {
		t.Error("Catalog shares its slices with callers")
	}
	if again, _ := Lookup(c[0].Name); again.Recipe.Mask[0] == "changed" {
		t.Error("Lookup shares its slices with callers")
	}
}

func TestParseCatalogRejects(t *testing.T) {
	const good = `name = "x"
description = "d"
[recipe]
suite = "bookworm"
variant = "minbase"
kernel = "k"
size = "1G"
packages = ["a-b"]
enable = ["a.service"]
disable = ["c.service"]
mask = ["b.timer"]
`
	if _, err := parseCatalog(fstest.MapFS{"catalog/x.toml": {Data: []byte(good)}}); err != nil {
		t.Fatalf("good entry rejected: %v", err)
	}
	for name, c := range map[string]struct{ file, data, want string }{
		"unknown key":        {"x", good + "extra = 1\n", "extra"},
		"file name":          {"y", good, "name the file after it"},
		"variant":            {"x", strings.Replace(good, "minbase", "fakechroot", 1), "variant"},
		"size":               {"x", strings.Replace(good, `"1G"`, `"lots"`, 1), "size"},
		"package":            {"x", strings.Replace(good, `"a-b"`, `"--force"`, 1), "package"},
		"unit":               {"x", strings.Replace(good, `"a.service"`, `"a service"`, 1), "unit"},
		"enabled + masked":   {"x", strings.Replace(good, `"b.timer"`, `"a.service"`, 1), "a.service is in both enable and mask"},
		"enabled + disabled": {"x", strings.Replace(good, `"c.service"`, `"a.service"`, 1), "a.service is in both enable and disable"},
		"disabled + masked":  {"x", strings.Replace(good, `"b.timer"`, `"c.service"`, 1), "c.service is in both disable and mask"},
		"disabled unit":      {"x", strings.Replace(good, `"c.service"`, `"c"`, 1), `bad unit name "c"`},
		"no kernel":          {"x", strings.Replace(good, `kernel = "k"`, ``, 1), "kernel"},
	} {
		_, err := parseCatalog(fstest.MapFS{"catalog/" + c.file + ".toml": {Data: []byte(c.data)}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, c.want)
		}
	}
}
