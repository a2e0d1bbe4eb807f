package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

// problems parses doc, which must be rejected, and returns each problem.
func problems(t *testing.T, doc string) []*Error {
	t.Helper()
	cfg, err := Parse(testFile, []byte(doc))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s\ngot %+v", doc, cfg)
	}
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Parse error is not an invalid argument: %v", err)
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Parse error %T is not a joined error", err)
	}
	var out []*Error
	for _, e := range joined.Unwrap() {
		var pe *Error
		if !errors.As(e, &pe) {
			t.Fatalf("problem %T is not an *Error: %v", e, e)
		}
		out = append(out, pe)
	}
	return out
}

// checkProblem checks one problem's place, and that its message has want.
func checkProblem(t *testing.T, p *Error, line int, key, want string) {
	t.Helper()
	prefix := fmt.Sprintf("%s:%d: %s: ", testFile, line, key)
	if key == "" {
		prefix = fmt.Sprintf("%s:%d: ", testFile, line)
	}
	if got := p.Error(); !strings.HasPrefix(got, prefix) || !strings.Contains(got, want) {
		t.Errorf("problem = %q\nwant prefix %q and %q in it", got, prefix, want)
	}
}

func TestParseReportsEachProblem(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		line      int
		key, want string
	}{
		{"syntax", "vmm = \"qemu\"\nbridge_name = \n", 2, "", "invalid TOML at column"},
		{"unterminated string", "\n\nvmm = \"qemu\n", 3, "", "invalid TOML"},
		{"duplicate key", "vmm = \"qemu\"\n\nvmm = \"auto\"\n", 3, "vmm", "already defined"},
		{"unknown top-level key", "vmm = \"qemu\"\ncolour = \"red\"\n", 2, "colour", "use one of: bridge_name,"},
		{"typo suggestion", "[vm_defaults]\nvcpu = 2\nvpcu = 4\n", 3, "vm_defaults.vpcu", "did you mean vcpu?"},
		{"prefix suggestion", "\n[vm_defaults]\nmemory = 4096\n", 3, "vm_defaults.memory", "did you mean memory_mib?"},
		{"misplaced key", "vcpu = 4\n", 1, "vcpu", "vcpu belongs in the [vm_defaults] section"},
		{"misplaced typo", "\nvpcu = 4\n", 2, "vpcu", "did you mean vcpu? It belongs in the [vm_defaults] section"},
		{"unknown file_sync key", "[[file_sync]]\nhost = \"~/a\"\nguest = \"~/a\"\nmdoe = \"0600\"\n", 4, "file_sync[1].mdoe", "did you mean mode?"},
		{"unknown table", "[network]\nbridge = \"x\"\n", 1, "network", "unknown key"},
		{"unknown dotted key", "\nvm_defaults.cpus.count = 2\n", 2, "vm_defaults.cpus", "unknown key"},
		{"quoted unknown key", "\"odd key\" = 1\n", 1, `"odd key"`, "unknown key"},
		{"vcpu as string", "[vm_defaults]\n\nvcpu = \"four\"\n", 3, "vm_defaults.vcpu", `got the string "four"; write the number without quotes, like vcpu = 4`},
		{"vcpu as float", "[vm_defaults]\nvcpu = 2.5\n", 2, "vm_defaults.vcpu", "got the float 2.5"},
		{"vcpu zero", "[vm_defaults]\nvcpu = 0\n", 2, "vm_defaults.vcpu", "0 is out of range; use a whole number from 1 to 256"},
		{"vcpu too many", "[vm_defaults]\nvcpu = 257\n", 2, "vm_defaults.vcpu", "from 1 to 256"},
		{"memory too small", "[vm_defaults]\nmemory_mib = 10\n", 2, "vm_defaults.memory_mib", "from 128 to 1048576"},
		{"disk size unit", "[vm_defaults]\n\n\ndisk_size = \"16Q\"\n", 4, "vm_defaults.disk_size", `invalid size "16Q": use a number with a unit, like 512M, 8G or 16GiB`},
		{"disk size too small", "[vm_defaults]\ndisk_size = \"256M\"\n", 2, "vm_defaults.disk_size", "use at least 512M"},
		{"disk size too large", "[vm_defaults]\ndisk_size = \"1E\"\n", 2, "vm_defaults.disk_size", "use at most 16T"},
		{"console log too small", "console_log_max = \"4K\"\n", 1, "console_log_max", "use at least 64K"},
		{"console log as integer", "console_log_max = 8\n", 1, "console_log_max", `write it in quotes, like console_log_max = "16G"`},
		{"disk size as integer", "[vm_defaults]\ndisk_size = 16\n", 2, "vm_defaults.disk_size", `got the integer 16; write it in quotes, like disk_size = "16G"`},
		{"vm_defaults not a table", "vm_defaults = 4\n", 1, "vm_defaults", "write it as a [vm_defaults] section"},
		{"vmm", "vmm = \"kvm\"\n", 1, "vmm", `"kvm" is not a supported VMM; use auto, firecracker or qemu`},
		{"vmm typo", "vmm = \"firecraker\"\n", 1, "vmm", `did you mean "firecracker"?`},
		{"vmm empty", "vmm = \"\"\n", 1, "vmm", "use auto, firecracker or qemu"},
		{"subnet host bits", "bridge_subnet = \"172.16.0.5/24\"\n", 1, "bridge_subnet", `use the network address, "172.16.0.0/24"`},
		{"subnet not cidr", "bridge_subnet = \"172.16.0.0\"\n", 1, "bridge_subnet", "write it in CIDR form"},
		{"subnet ipv6", "bridge_subnet = \"fd00::/64\"\n", 1, "bridge_subnet", "not an IPv4 subnet"},
		{"subnet too wide", "bridge_subnet = \"10.0.0.0/8\"\n", 1, "bridge_subnet", "use /16 to /29"},
		{"network policy unknown", "network_policy = \"lan\"\n", 1, "network_policy", `use "internet", "none", "open" or "allow=LIST"`},
		{"network policy bad port", "network_policy = \"allow=example.com:99999\"\n", 1, "network_policy", "not a number from 1 to 65535"},
		{"subnet too narrow", "bridge_subnet = \"10.0.0.0/30\"\n", 1, "bridge_subnet", "use /16 to /29"},
		{"subnet public", "bridge_subnet = \"8.8.8.0/24\"\n", 1, "bridge_subnet", "is not a private range; use a subnet within 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10"},
		{"subnet link-local", "bridge_subnet = \"169.254.0.0/16\"\n", 1, "bridge_subnet", "is not a private range"},
		{"subnet multicast", "bridge_subnet = \"224.0.0.0/24\"\n", 1, "bridge_subnet", "is not a private range"},
		{"subnet this network", "bridge_subnet = \"0.0.0.0/16\"\n", 1, "bridge_subnet", "is not a private range"},
		{"bridge name long", "bridge_name = \"abcdefghijklmnop\"\n", 1, "bridge_name", "not a valid interface name"},
		{"bridge name chars", "bridge_name = \"br/0\"\n", 1, "bridge_name", "use 1 to 15 letters"},
		{"bridge name dots", "bridge_name = \"..\"\n", 1, "bridge_name", "not a valid interface name"},
		{"bridge name empty", "bridge_name = \"\"\n", 1, "bridge_name", "not a valid interface name"},
		{"listen addr no port", "web_listen_addr = \"127.0.0.1\"\n", 1, "web_listen_addr", `is not host:port; write it like "127.0.0.1:7777"`},
		{"listen addr bad port", "web_listen_addr = \"127.0.0.1:http\"\n", 1, "web_listen_addr", "not a number from 1 to 65535"},
		{"listen addr bad host", "web_listen_addr = \"-bad-:80\"\n", 1, "web_listen_addr", "neither an IP address nor a host name"},
		{"image name empty", "default_image_name = \"\"\n", 1, "default_image_name", "remove the key to use the default"},
		{"image name space", "default_image_name = \"my image\"\n", 1, "default_image_name", "no spaces"},
		{"ssh key wrong type", "ssh_key_path = true\n", 1, "ssh_key_path", "expected a string, got the boolean true"},
		{"debian_keyring relative", "debian_keyring = \"keys.gpg\"\n", 1, "debian_keyring", "give an absolute path"},
		{"firecracker_bin NUL", "firecracker_bin = \"/bin/fc\\u0000\"\n", 1, "firecracker_bin", "NUL byte"},
		{"guest outside home", "[[file_sync]]\nhost = \"~/a\"\nguest = \"/etc/a\"\n", 3, "file_sync[1].guest", "start it with ~/ or /root/"},
		{"guest home itself", "[[file_sync]]\nhost = \"~/a\"\nguest = \"~\"\n", 3, "file_sync[1].guest", "names the home directory itself"},
		{"guest root itself", "[[file_sync]]\nhost = \"~/a\"\nguest = \"/root/\"\n", 3, "file_sync[1].guest", "names the home directory itself"},
		{"guest cleans to home", "[[file_sync]]\nhost = \"~/a\"\nguest = \"~/x/..\"\n", 3, "file_sync[1].guest", "names the home directory itself"},
		{"guest escapes", "[[file_sync]]\nhost = \"~/a\"\nguest = \"~/../etc/passwd\"\n", 3, "file_sync[1].guest", `climbs out of /root with ".."`},
		{"guest relative", "[[file_sync]]\nhost = \"~/a\"\nguest = \"a\"\n", 3, "file_sync[1].guest", "start it with ~/ or /root/"},
		{"host empty", "[[file_sync]]\nhost = \"\"\nguest = \"~/a\"\n", 2, "file_sync[1].host", "the host path is empty"},
		{"host relative", "[[file_sync]]\nhost = \"a\"\nguest = \"~/a\"\n", 2, "file_sync[1].host", `like "~/a"`},
		{"missing guest", "[[file_sync]]\nhost = \"~/a\"\n", 1, "file_sync[1]", "missing guest"},
		{"missing host", "[[file_sync]]\nguest = \"~/a\"\n", 1, "file_sync[1]", "missing host"},
		{"mode not octal", "[[file_sync]]\nhost = \"~/a\"\nguest = \"~/a\"\nmode = \"999\"\n", 4, "file_sync[1].mode", `mode "999" is not a permission mode; use 3 or 4 octal digits`},
		{"mode letters", "[[file_sync]]\nhost = \"~/a\"\nguest = \"~/a\"\nmode = \"abc\"\n", 4, "file_sync[1].mode", "octal digits"},
		{"mode too long", "[[file_sync]]\nhost = \"~/a\"\nguest = \"~/a\"\nmode = \"07777\"\n", 4, "file_sync[1].mode", "octal digits"},
		{"mode as integer", "[[file_sync]]\nhost = \"~/a\"\nguest = \"~/a\"\nmode = 0o644\n", 4, "file_sync[1].mode", "expected a string, got the integer 420"},
		{"file_sync not array", "file_sync = { host = \"~/a\" }\n", 1, "file_sync", "write each entry as a [[file_sync]] section"},
		{"file_sync element", "file_sync = [\n  \"~/a\",\n]\n", 2, "file_sync[1]", `got the string "~/a"`},
		{"file_sync subtable", "[[file_sync]]\nhost = \"~/a\"\nguest = \"~/a\"\n\n[file_sync.extra]\nx = 1\n", 5, "file_sync[1].extra", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.doc)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(ps), ps)
			}
			checkProblem(t, ps[0], tt.line, tt.key, tt.want)
		})
	}
}

func TestParseReportsAllProblemsInLineOrder(t *testing.T) {
	doc := `vmm = "kvm"
[vm_defaults]
vcpu = 0
disk_size = "16Q"

[[file_sync]]
host = "~/.aws"
guest = "~/.aws"

[[file_sync]]
host = "~/bin/x"
guest = "/etc/x"
mode = "999"

[[file_sync]]
host = "~/c"
`
	ps := problems(t, doc)
	want := []struct {
		line      int
		key, want string
	}{
		{1, "vmm", "kvm"},
		{3, "vm_defaults.vcpu", "out of range"},
		{4, "vm_defaults.disk_size", "16Q"},
		{12, "file_sync[2].guest", "/etc/x"},
		{13, "file_sync[2].mode", "999"},
		{15, "file_sync[3]", "missing guest"},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d: %v", len(ps), len(want), ps)
	}
	for i, w := range want {
		checkProblem(t, ps[i], w.line, w.key, w.want)
	}
}

func TestParseProblemsInNestedArrays(t *testing.T) {
	doc := `[[file_sync]]
host = "~/a"
guest = "~/a"

[[file_sync]]
host = "~/b"
guest = "~/b"
nested = [
  1,
  [2, { deep = 3 }],
]
`
	ps := problems(t, doc)
	if len(ps) != 1 {
		t.Fatalf("got %d problems, want 1: %v", len(ps), ps)
	}
	checkProblem(t, ps[0], 8, "file_sync[2].nested", "unknown key")
}
