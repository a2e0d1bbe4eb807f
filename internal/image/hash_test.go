package image

import (
	"regexp"
	"slices"
	"testing"
)

func TestHashIsStableAndSensitive(t *testing.T) {
	e, err := Lookup("debian-bookworm-slim")
	if err != nil {
		t.Fatal(err)
	}
	r := e.Recipe
	base := r.Hash("agentsum", "6.1.0-30-cloud-amd64")
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(base) {
		t.Fatalf("hash %q is not 16 hex digits", base)
	}
	if again := r.Hash("agentsum", "6.1.0-30-cloud-amd64"); again != base {
		t.Fatalf("hash changed between calls: %s then %s", base, again)
	}

	same := r
	same.Packages = slices.Clone(r.Packages)
	slices.Reverse(same.Packages)
	same.Packages = append(same.Packages, same.Packages[0]) // a duplicate
	same.Mask = slices.Clone(r.Mask)
	slices.Reverse(same.Mask)
	if got := same.Hash("agentsum", "6.1.0-30-cloud-amd64"); got != base {
		t.Errorf("reordering packages and units changed the hash: %s vs %s", got, base)
	}

	changes := map[string]Recipe{}
	add := func(name string, f func(*Recipe)) {
		c := r
		c.Packages, c.Enable, c.Disable, c.Mask = slices.Clone(r.Packages), slices.Clone(r.Enable), slices.Clone(r.Disable), slices.Clone(r.Mask)
		f(&c)
		changes[name] = c
	}
	add("package added", func(c *Recipe) { c.Packages = append(c.Packages, "htop") })
	add("package swapped", func(c *Recipe) { c.Packages[0] = "nano" })
	add("unit masked", func(c *Recipe) { c.Mask = append(c.Mask, "cron.service") })
	add("unit disabled", func(c *Recipe) { c.Disable = append(c.Disable, "cron.service") })
	add("unit enabled", func(c *Recipe) { c.Enable = append(c.Enable, "cron.service") })
	add("mise", func(c *Recipe) { c.Mise = !c.Mise })
	add("size", func(c *Recipe) { c.Size = "8G" })
	add("suite", func(c *Recipe) { c.Suite = "trixie" })
	add("kernel", func(c *Recipe) { c.Kernel = "other" })
	for name, c := range changes {
		if c.Hash("agentsum", "6.1.0-30-cloud-amd64") == base {
			t.Errorf("%s did not change the hash", name)
		}
	}
	for name, extra := range map[string][]string{
		"agent":        {"othersum", "6.1.0-30-cloud-amd64"},
		"kernel":       {"agentsum", "6.1.0-31-cloud-amd64"},
		"order":        {"6.1.0-30-cloud-amd64", "agentsum"},
		"none":         nil,
		"joined":       {"agentsum6.1.0-30-cloud-amd64"},
		"extra string": {"agentsum", "6.1.0-30-cloud-amd64", ""},
	} {
		if r.Hash(extra...) == base {
			t.Errorf("extra inputs %s (%q) did not change the hash", name, extra)
		}
	}
}
