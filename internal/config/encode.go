package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Encode writes the effective config as TOML: every key with its value,
// defaults filled in, and a comment for each optional key that is not set.
// The output is itself a valid config file that Parse reads back to the
// same Config.
func (c *Config) Encode(w io.Writer) error {
	e := &encoder{}
	eff := c.effective()
	e.line("# banger config: effective values, with defaults filled in.")
	e.str("default_image_name", eff.DefaultImageName, "")
	e.str("ssh_key_path", eff.SSHKeyPath, "banger manages ~/.config/banger/ssh/id_ed25519")
	e.str("firecracker_bin", eff.FirecrackerBin, "looked up on PATH")
	e.str("web_listen_addr", eff.WebListenAddr, "web UI disabled")
	e.line("web_allow_remote = " + strconv.FormatBool(eff.WebAllowRemote))
	e.str("e2b_listen_addr", eff.E2BListenAddr, "E2B API disabled")
	e.line("e2b_allow_remote = " + strconv.FormatBool(eff.E2BAllowRemote))
	e.str("vmm", string(eff.VMM), "")
	e.str("bridge_name", eff.BridgeName, "")
	e.str("bridge_subnet", eff.BridgeSubnet, "")
	e.str("debian_mirror", eff.DebianMirror, "the host's apt mirror, else debootstrap's default")
	e.str("debian_keyring", eff.DebianKeyring, "/usr/share/keyrings/debian-archive-keyring.gpg")
	e.str("npm_registry", eff.NPMRegistry, "npm's own setting")
	if eff.ConsoleLogMax != 0 {
		e.str("console_log_max", eff.ConsoleLogMax.String(), "")
	} else {
		e.line("# console_log_max: not set (" + DefaultConsoleLogMax.String() + ")")
	}
	e.str("network_policy", eff.NetworkPolicy, "")
	e.vmDefaults(eff.VMDefaults)
	e.fileSyncs(eff.FileSync)
	if e.err != nil {
		return fmt.Errorf("encoding config: %w", e.err)
	}
	_, err := io.WriteString(w, e.b.String())
	return err
}

// effective returns a copy of c with defaults in place of empty values.
func (c *Config) effective() Config {
	eff, def := *c, Default()
	fill := func(dst *string, d string) {
		if *dst == "" {
			*dst = d
		}
	}
	fill(&eff.DefaultImageName, def.DefaultImageName)
	fill(&eff.BridgeName, def.BridgeName)
	fill(&eff.BridgeSubnet, def.BridgeSubnet)
	fill(&eff.NetworkPolicy, def.NetworkPolicy)
	if eff.VMM == "" {
		eff.VMM = def.VMM
	}
	return eff
}

type encoder struct {
	b   strings.Builder
	err error
}

func (e *encoder) line(s string) { e.b.WriteString(s + "\n") }

// str writes key = "v", or, when v is empty, a comment saying unsetMeaning.
func (e *encoder) str(key, v, unsetMeaning string) {
	if v == "" && unsetMeaning != "" {
		e.line("# " + key + ": not set (" + unsetMeaning + ")")
		return
	}
	e.line(key + " = " + e.quote(key, v))
}

func (e *encoder) vmDefaults(vd VMDefaults) {
	e.line("\n[vm_defaults]")
	const unset = "banger decides"
	if vd.VCPU != nil {
		e.line("vcpu = " + strconv.Itoa(*vd.VCPU))
	} else {
		e.line("# vcpu: not set (" + unset + ")")
	}
	if vd.MemoryMiB != nil {
		e.line("memory_mib = " + strconv.Itoa(*vd.MemoryMiB))
	} else {
		e.line("# memory_mib: not set (" + unset + ")")
	}
	if vd.DiskSize != nil {
		e.str("disk_size", vd.DiskSize.String(), "")
	} else {
		e.line("# disk_size: not set (" + unset + ")")
	}
}

func (e *encoder) fileSyncs(entries []FileSync) {
	if len(entries) == 0 {
		e.line("\n# file_sync: no entries")
		return
	}
	for _, f := range entries {
		e.line("\n[[file_sync]]")
		e.str("host", f.Host, "")
		e.str("guest", f.Guest, "")
		e.str("mode", f.Mode, "0600 for files")
	}
}

// quote writes s as a TOML basic string. TOML strings must be UTF-8, so a
// value that is not is an error rather than silently altered.
func (e *encoder) quote(key, s string) string {
	if !utf8.ValidString(s) && e.err == nil {
		e.err = fmt.Errorf("%s: value %q is not valid UTF-8", key, s)
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
