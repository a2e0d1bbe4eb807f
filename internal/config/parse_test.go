package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"banger/internal/errdefs"
	"banger/internal/network"
)

const testFile = "/h/.config/banger/config.toml"

func intPtr(n int) *int    { return &n }
func sizePtr(s Size) *Size { return &s }

func TestParseFullConfig(t *testing.T) {
	doc := `# my banger config
default_image_name = "ubuntu-noble"
ssh_key_path = "~/.ssh/id_ed25519"
firecracker_bin = "/opt/fc/firecracker"
web_listen_addr = "127.0.0.1:7777"
vmm = "firecracker"
bridge_name = "br-dev.0"
bridge_subnet = "10.20.0.0/16"
console_log_max = "16M"
debian_keyring = "/usr/share/keyrings/ubuntu-archive-keyring.gpg"
network_policy = "allow=10.1.0.0/16,example.com:443"

[vm_defaults]
vcpu = 4
memory_mib = 4_096
disk_size = "16G"

[[file_sync]]
host = "~/.aws"
guest = "~/.aws"

[[file_sync]]
host = "/etc/gitconfig"
guest = "/root/.gitconfig"
mode = "0644"
`
	got, err := Parse(testFile, []byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Config{
		DefaultImageName: "ubuntu-noble",
		SSHKeyPath:       "~/.ssh/id_ed25519",
		FirecrackerBin:   "/opt/fc/firecracker",
		WebListenAddr:    "127.0.0.1:7777",
		VMM:              VMMFirecracker,
		BridgeName:       "br-dev.0",
		BridgeSubnet:     "10.20.0.0/16",
		ConsoleLogMax:    16 * MiB,
		DebianKeyring:    "/usr/share/keyrings/ubuntu-archive-keyring.gpg",
		NetworkPolicy:    "allow=10.1.0.0/16,example.com:443",
		VMDefaults:       VMDefaults{VCPU: intPtr(4), MemoryMiB: intPtr(4096), DiskSize: sizePtr(16 * GiB)},
		FileSync: []FileSync{
			{Host: "~/.aws", Guest: "~/.aws"},
			{Host: "/etc/gitconfig", Guest: "/root/.gitconfig", Mode: "0644"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseInlineForms(t *testing.T) {
	doc := `vm_defaults = { vcpu = 2 }
file_sync = [
  { host = "~/a", guest = "~/a" },
  { host = "~/b", guest = "~/b", mode = "600" },
]
`
	got, err := Parse(testFile, []byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got.VMDefaults.VCPU == nil || *got.VMDefaults.VCPU != 2 || len(got.FileSync) != 2 || got.FileSync[1].Mode != "600" {
		t.Errorf("Parse = %+v", got)
	}
}

func TestParseEmptyGivesDefaults(t *testing.T) {
	for _, doc := range []string{"", "\n\n", "# only a comment\n", "file_sync = []\n"} {
		got, err := Parse(testFile, []byte(doc))
		if err != nil {
			t.Fatalf("Parse(%q): %v", doc, err)
		}
		if !reflect.DeepEqual(got, Default()) {
			t.Errorf("Parse(%q) = %+v, want the defaults", doc, got)
		}
	}
}

func TestLoadMissingFileGivesDefaults(t *testing.T) {
	got, err := Load(filepath.Join(t.TempDir(), "config.toml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Errorf("Load = %+v, want the defaults", got)
	}
}

func TestLoadReadsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("vmm = \"qemu\"\nbridge_name = 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path+":2: bridge_name: ") {
		t.Errorf("Load error = %v, want one naming %s:2: bridge_name", err, path)
	}
}

func TestLoadUnreadableNamesFile(t *testing.T) {
	dir := t.TempDir() // a directory cannot be read as a file
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Load(dir) error = %v, want one naming %s", err, dir)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.toml", Line: 7, Key: "vm_defaults.vcpu", Msg: "bad"}, "f.toml:7: vm_defaults.vcpu: bad"},
		{Error{File: "f.toml", Key: "vmm", Msg: "bad"}, "f.toml: vmm: bad"},
		{Error{File: "f.toml", Line: 3, Msg: "bad"}, "f.toml:3: bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if !errors.Is(&Error{}, errdefs.ErrInvalidArgument) {
		t.Errorf("*Error is not an invalid argument")
	}
}

// TestSubnetRangesMatchNetwork holds config.toml's check and the network
// helper's to the same ranges.
func TestSubnetRangesMatchNetwork(t *testing.T) {
	if !slices.Equal(SubnetRanges, network.SubnetRanges) {
		t.Errorf("config.SubnetRanges = %v, network.SubnetRanges = %v; keep them equal", SubnetRanges, network.SubnetRanges)
	}
}
