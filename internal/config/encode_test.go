package config

import (
	"reflect"
	"strings"
	"testing"
)

// reparse encodes c and parses the output back.
func reparse(t *testing.T, c *Config) (*Config, string) {
	t.Helper()
	var b strings.Builder
	if err := c.Encode(&b); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	back, err := Parse("encoded.toml", []byte(b.String()))
	if err != nil {
		t.Fatalf("Parse of encoded config: %v\n%s", err, b.String())
	}
	return back, b.String()
}

func TestEncodeRoundTrip(t *testing.T) {
	c := &Config{
		DefaultImageName: "ubuntu-noble",
		SSHKeyPath:       "~/keys/\"quoted\"\\back\tslash\n",
		WebListenAddr:    "[::1]:7777",
		VMM:              VMMQEMU,
		BridgeName:       "banger1",
		BridgeSubnet:     "10.9.0.0/24",
		ConsoleLogMax:    512 * KiB,
		NetworkPolicy:    "none",
		VMDefaults:       VMDefaults{MemoryMiB: intPtr(2048), DiskSize: sizePtr(1536 * MiB)},
		FileSync: []FileSync{
			{Host: "~/.aws", Guest: "~/.aws"},
			{Host: "/opt/bin/tool \u00e9\x7f", Guest: "/root/bin/tool", Mode: "4755"},
		},
	}
	back, out := reparse(t, c)
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip changed the config:\n%+v\nwant\n%+v\noutput:\n%s", back, c, out)
	}
	for _, want := range []string{
		"# vcpu: not set (banger decides)\n",
		"memory_mib = 2048\n",
		"disk_size = \"1536M\"\n",
		"console_log_max = \"512K\"\n",
		"# firecracker_bin: not set (looked up on PATH)\n",
		"[[file_sync]]\nhost = \"~/.aws\"\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Encode output lacks %q:\n%s", want, out)
		}
	}
}

func TestEncodeDefaults(t *testing.T) {
	back, out := reparse(t, Default())
	if !reflect.DeepEqual(back, Default()) {
		t.Errorf("defaults did not round trip: %+v", back)
	}
	for _, want := range []string{
		"default_image_name = \"debian-bookworm\"\n",
		"vmm = \"auto\"\n",
		"bridge_name = \"banger0\"\n",
		"bridge_subnet = \"172.16.0.0/24\"\n",
		"network_policy = \"internet\"\n",
		"# ssh_key_path: not set",
		"# web_listen_addr: not set (web UI disabled)\n",
		"# disk_size: not set (banger decides)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Encode output lacks %q:\n%s", want, out)
		}
	}
}

func TestEncodeFillsDefaults(t *testing.T) {
	back, _ := reparse(t, &Config{})
	if !reflect.DeepEqual(back, Default()) {
		t.Errorf("Encode of a zero Config = %+v, want the defaults", back)
	}
}

func TestEncodeRejectsInvalidUTF8(t *testing.T) {
	c := Default()
	c.SSHKeyPath = "/bad\xff"
	var b strings.Builder
	if err := c.Encode(&b); err == nil || !strings.Contains(err.Error(), "ssh_key_path") {
		t.Errorf("Encode error = %v, want one naming ssh_key_path", err)
	}
}
