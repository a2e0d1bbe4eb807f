package image

import (
	"slices"
	"strings"
	"testing"
)

// unitKeys reads a systemd unit into section.key -> values.
func unitKeys(t *testing.T, unit string) map[string][]string {
	t.Helper()
	keys := map[string][]string{}
	section := ""
	for i, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("line %d of unit is not key=value in a section: %q", i+1, line)
			}
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	return keys
}

func wantKeys(t *testing.T, name string, got map[string][]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if !slices.Contains(got[k], v) {
			t.Errorf("%s: %s = %q, want %q", name, k, got[k], v)
		}
	}
}

func TestAgentUnit(t *testing.T) {
	wantKeys(t, agentUnit, unitKeys(t, agentService()), map[string]string{
		"Unit.After":                 "local-fs.target",
		"Unit.DefaultDependencies":   "no",
		"Unit.StartLimitIntervalSec": "0",
		"Service.ExecStart":          "/usr/local/lib/banger/banger-vsock-agent",
		"Service.Restart":            "on-failure",
		"Service.RestartSec":         "1",
		"Install.WantedBy":           "multi-user.target",
	})
}

func TestSSHKeygenUnitMakesTheKeySSHDUses(t *testing.T) {
	k := unitKeys(t, sshKeygenService())
	wantKeys(t, sshKeygenUnit, k, map[string]string{
		"Unit.Before":              "ssh.service",
		"Service.Type":             "oneshot",
		"Install.RequiredBy":       "ssh.service",
		"Install.WantedBy":         "multi-user.target",
		"Unit.ConditionPathExists": "!" + sshHostKey,
	})
	exec := strings.Join(k["Service.ExecStart"], " ")
	if !strings.HasPrefix(exec, "/usr/bin/ssh-keygen ") || !strings.Contains(exec, "-f "+sshHostKey) {
		t.Errorf("ExecStart = %q", exec)
	}
	if !strings.Contains(sshdDropIn(), "\nHostKey "+sshHostKey+"\n") {
		t.Errorf("sshd does not use the key the unit makes:\n%s", sshdDropIn())
	}
}

func TestSSHDDropIn(t *testing.T) {
	conf := sshdDropIn()
	settings := map[string]string{}
	for _, line := range strings.Split(conf, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad sshd line %q", line)
		}
		if _, dup := settings[k]; dup {
			t.Errorf("%s set twice", k)
		}
		settings[k] = v
	}
	for k, v := range map[string]string{
		"PermitRootLogin": "yes", "StrictModes": "no", "PasswordAuthentication": "no",
		"KbdInteractiveAuthentication": "no", "PubkeyAuthentication": "yes",
	} {
		if settings[k] != v {
			t.Errorf("%s = %q, want %q", k, settings[k], v)
		}
	}
}

// The initramfs mounts / (possibly an overlay) and /root: an fstab entry
// for either would have systemd remount or mount them again.
func TestFstab(t *testing.T) {
	for _, l := range strings.Split(fstab(), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && !strings.HasPrefix(f[0], "#") && (f[1] == "/" || f[1] == "/root") {
			t.Errorf("fstab lists %s, which the initramfs mounts: %q", f[1], l)
		}
	}
}

// The kernel command line's configuration must win over the fallback:
// networkd uses the first matching file in name order.
func TestNetworkFallbackSortsLast(t *testing.T) {
	for _, generated := range []string{"70-eth0.network", "99-default.network"} {
		if networkFile <= generated {
			t.Errorf("%s sorts before the generator's %s", networkFile, generated)
		}
	}
	wantKeys(t, networkFile, unitKeys(t, ethNetwork()), map[string]string{
		"Match.Name": "eth0", "Network.DHCP": "no", "Link.RequiredForOnline": "no",
	})
}

// A template's file must win over everything else, the generator's and
// the agent's files included, and only with the template's parameter.
func TestTemplateNetworkSortsFirst(t *testing.T) {
	for _, other := range []string{"70-eth0.network", "90-eth0.network", networkFile} {
		if templateNetwork >= other {
			t.Errorf("%s sorts after %s", templateNetwork, other)
		}
	}
	wantKeys(t, templateNetwork, unitKeys(t, templateEthNetwork()), map[string]string{
		"Match.Name": "eth0", "Match.KernelCommandLine": "banger.template", "Link.Unmanaged": "yes",
	})
}

func TestHosts(t *testing.T) {
	h := hostsFile("box")
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "127.0.1.1\tbox\n", "::1\tlocalhost"} {
		if !strings.Contains(h, want) {
			t.Errorf("hosts lacks %q:\n%s", want, h)
		}
	}
}

func TestConfigFiles(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range configFiles() {
		if !strings.HasPrefix(f.Path, "/") || seen[f.Path] {
			t.Errorf("bad or repeated path %q", f.Path)
		}
		seen[f.Path] = true
	}
	for _, p := range []string{"/etc/hostname", "/etc/hosts", "/etc/fstab", "/etc/ssh/sshd_config.d/banger.conf", "/root/.ssh"} {
		if !seen[p] {
			t.Errorf("configFiles does not write %s", p)
		}
	}
}

func TestDpkgExcludesMatchTrim(t *testing.T) {
	ex := dpkgExcludes()
	for _, p := range trimmed {
		if !strings.Contains(ex, "path-exclude "+p+"\n") {
			t.Errorf("dpkg does not exclude %s", p)
		}
		dir := strings.TrimSuffix(p, "/*")
		if !strings.Contains(trimScript(), dir) {
			t.Errorf("the trim script does not clean %s", dir)
		}
	}
	for _, p := range kept {
		if !strings.Contains(ex, "path-include "+p+"\n") {
			t.Errorf("dpkg does not keep %s", p)
		}
	}
	for _, want := range []string{"rm -f /etc/ssh/ssh_host_*", ": > /etc/machine-id", "/var/lib/apt/lists/*"} {
		if !strings.Contains(trimScript(), want) {
			t.Errorf("trim script lacks %q", want)
		}
	}
}
