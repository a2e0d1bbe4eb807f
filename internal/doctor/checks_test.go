package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestChecksOnFakeHost(t *testing.T) {
	opts := Options{
		VMM: "auto", StateDir: "/var/lib/banger", ConfigPath: "/c.toml", Host: goodHost(),
		Defaults:  []DefaultField{{"vcpu", "2", "auto"}},
		Daemon:    func(context.Context) (DaemonStatus, error) { return DaemonStatus{}, nil },
		DaemonBin: func() (string, error) { return "/usr/bin/bangerd", nil },
	}
	results := Run(context.Background(), Checks(opts))
	want := []string{"kvm", "firecracker", "qemu", "debootstrap", "mkfs.ext4", "ssh",
		"keyring", "tun", "privileges", "disk", "daemon", "vm defaults", "vm names"}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d", len(results), len(want))
	}
	for i, r := range results {
		if r.Name != want[i] || r.Status != Pass {
			t.Errorf("result %d: %+v, want %s ok", i, r, want[i])
		}
	}
}

func TestMissingKeyringFails(t *testing.T) {
	h := goodHost()
	delete(h.files, archiveKeyring)
	r := checkKeyring(h, "")
	if r.Status != Fail || !strings.Contains(r.Fix, "apt-get install debian-archive-keyring") || !strings.Contains(r.Summary, "pulling kernels") {
		t.Fatalf("keyring check without the keyring = %+v, want a fail naming the package", r)
	}
}

func TestConfiguredKeyringIsChecked(t *testing.T) {
	h := goodHost()
	r := checkKeyring(h, "/etc/banger/debian.gpg")
	if r.Status != Fail || !strings.Contains(r.Summary, "/etc/banger/debian.gpg") || !strings.Contains(r.Fix, "debian_keyring") {
		t.Fatalf("keyring check with a missing configured keyring = %+v, want a fail naming it and debian_keyring", r)
	}
	h.files["/etc/banger/debian.gpg"] = 0o644
	if r := checkKeyring(h, "/etc/banger/debian.gpg"); r.Status != Pass {
		t.Fatalf("keyring check with the configured keyring present = %+v, want ok", r)
	}
}

// TestChecksOnRealHost only checks that the real probes run and report.
func TestChecksOnRealHost(t *testing.T) {
	opts := Options{
		VMM: "auto", StateDir: t.TempDir() + "/not/yet", ConfigPath: "/nonexistent/config.toml",
		Daemon:    func(context.Context) (DaemonStatus, error) { return DaemonStatus{}, nil },
		DaemonBin: func() (string, error) { return "", errors.New("no bangerd") },
	}
	for _, r := range Run(context.Background(), Checks(opts)) {
		if r.Name == "" || r.Summary == "" {
			t.Errorf("result without name or summary: %+v", r)
		}
		t.Logf("%-5v %-12s %s", r.Status, r.Name, r.Summary)
	}
}
