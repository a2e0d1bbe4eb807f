package config

// The keys each table of the config file accepts, and how each is decoded.

var topFields = fields[Config]{
	"default_image_name": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.DefaultImageName, checkImageName)
	},
	"ssh_key_path": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.SSHKeyPath, checkOptionalPath)
	},
	"firecracker_bin": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.FirecrackerBin, checkOptionalPath)
	},
	"web_listen_addr": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.WebListenAddr, checkListenAddr)
	},
	"web_allow_remote": func(d *decoder, key string, v any, c *Config) {
		d.boolean(key, v, &c.WebAllowRemote)
	},
	"e2b_listen_addr": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.E2BListenAddr, checkListenAddr)
	},
	"e2b_allow_remote": func(d *decoder, key string, v any, c *Config) {
		d.boolean(key, v, &c.E2BAllowRemote)
	},
	"vmm": func(d *decoder, key string, v any, c *Config) {
		var s string
		d.str(key, v, &s, checkVMM)
		if s != "" {
			c.VMM = VMM(s)
		}
	},
	"bridge_name": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.BridgeName, checkBridgeName)
	},
	"bridge_subnet": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.BridgeSubnet, checkSubnet)
	},
	"debian_mirror": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.DebianMirror, checkOptionalURL)
	},
	"debian_keyring": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.DebianKeyring, checkOptionalAbsPath)
	},
	"npm_registry": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.NPMRegistry, checkOptionalURL)
	},
	"console_log_max": func(d *decoder, key string, v any, c *Config) {
		d.size(key, v, &c.ConsoleLogMax, checkConsoleLogMax)
	},
	"network_policy": func(d *decoder, key string, v any, c *Config) {
		d.str(key, v, &c.NetworkPolicy, checkNetworkPolicy)
	},
	"vm_defaults": func(d *decoder, key string, v any, c *Config) {
		if tbl, ok := d.table(key, v); ok {
			decodeTable(d, key, tbl, vmDefaultsFields, &c.VMDefaults)
		}
	},
	"file_sync": func(d *decoder, key string, v any, c *Config) {
		c.FileSync = d.fileSyncs(key, v)
	},
}

// Limits on [vm_defaults].
const (
	MinVCPU      = 1
	MaxVCPU      = 256
	MinMemoryMiB = 128
	MaxMemoryMiB = 1 << 20
)

var vmDefaultsFields = fields[VMDefaults]{
	"vcpu": func(d *decoder, key string, v any, vd *VMDefaults) {
		d.integer(key, v, &vd.VCPU, MinVCPU, MaxVCPU, 4)
	},
	"memory_mib": func(d *decoder, key string, v any, vd *VMDefaults) {
		d.integer(key, v, &vd.MemoryMiB, MinMemoryMiB, MaxMemoryMiB, 4096)
	},
	"disk_size": func(d *decoder, key string, v any, vd *VMDefaults) {
		var size Size
		if d.size(key, v, &size, checkDiskSize) {
			vd.DiskSize = &size
		}
	},
}

// size decodes a size written as a string, like "16G", checked by check;
// it says whether it set dst.
func (d *decoder) size(key string, v any, dst *Size, check func(string) error) bool {
	if _, ok := v.(string); !ok {
		d.fail(key, "expected a size with a unit, got %s; write it in quotes, like %s = \"16G\"", describe(v), lastPart(key))
		return false
	}
	var s string
	d.str(key, v, &s, check)
	if s == "" {
		return false
	}
	*dst, _ = ParseSize(s)
	return true
}

var fileSyncFields = fields[FileSync]{
	"host": func(d *decoder, key string, v any, fs *FileSync) {
		d.str(key, v, &fs.Host, checkHostPath)
	},
	"guest": func(d *decoder, key string, v any, fs *FileSync) {
		d.str(key, v, &fs.Guest, checkGuestPath)
	},
	"mode": func(d *decoder, key string, v any, fs *FileSync) {
		d.str(key, v, &fs.Mode, checkMode)
	},
}

// fileSyncs decodes the file_sync array, written either as [[file_sync]]
// sections or as an array of inline tables.
func (d *decoder) fileSyncs(key string, v any) []FileSync {
	arr, ok := v.([]any)
	if !ok {
		d.fail(key, "expected an array of tables, got %s; write each entry as a [[file_sync]] section", describe(v))
		return nil
	}
	var out []FileSync
	for i, elem := range arr {
		ek := elemKey(key, i)
		tbl, ok := elem.(map[string]any)
		if !ok {
			d.fail(ek, "expected a table with host and guest, got %s", describe(elem))
			continue
		}
		var fs FileSync
		decodeTable(d, ek, tbl, fileSyncFields, &fs)
		d.requireFileSync(ek, tbl)
		out = append(out, fs)
	}
	return out
}

func (d *decoder) requireFileSync(key string, tbl map[string]any) {
	if _, ok := tbl["host"]; !ok {
		d.fail(key, `missing host; add host = "~/..." naming the file or directory to copy`)
	}
	if _, ok := tbl["guest"]; !ok {
		d.fail(key, `missing guest; add guest = "~/..." naming where it goes in the VM`)
	}
}
