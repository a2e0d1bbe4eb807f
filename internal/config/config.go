// Package config reads banger's config file, config.toml in banger's XDG
// config directory. Every key is optional. Parse checks the whole file and
// reports every problem with its file, line and key, and a way to fix it.
// The package also resolves the sizing of new VMs from [vm_defaults], the
// host and built-in floors.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/pelletier/go-toml/v2"
)

// VMM selects the virtual machine monitor.
type VMM string

// The VMM choices. Auto picks Firecracker when it is usable, else QEMU.
const (
	VMMAuto        VMM = "auto"
	VMMFirecracker VMM = "firecracker"
	VMMQEMU        VMM = "qemu"
)

// Defaults for keys the user leaves out.
const (
	DefaultImageName    = "debian-bookworm"
	DefaultVMM          = VMMAuto
	DefaultBridgeName   = "banger0"
	DefaultBridgeSubnet = "172.16.0.0/24"
	// DefaultNetworkPolicy is what a new VM may reach when neither
	// --network nor network_policy says: see internal/network/netpolicy.
	DefaultNetworkPolicy = "internet"
)

// A VM's console log is rotated when it passes console_log_max, keeping
// one older file, so a guest writing to its console without end uses at
// most about twice this much of the host's disk.
const (
	DefaultConsoleLogMax = 4 * MiB
	MinConsoleLogMax     = 64 * KiB
)

// ConsoleLogLimit is the size at which a VM's console log is rotated.
func (c *Config) ConsoleLogLimit() Size {
	if c.ConsoleLogMax == 0 {
		return DefaultConsoleLogMax
	}
	return c.ConsoleLogMax
}

// Config is the content of config.toml. The toml tags name the keys; Parse
// does the decoding itself so that it can check every key.
type Config struct {
	DefaultImageName string     `toml:"default_image_name"` // image used when --image is omitted
	SSHKeyPath       string     `toml:"ssh_key_path"`       // "" means banger manages its own key
	FirecrackerBin   string     `toml:"firecracker_bin"`    // "" means look it up on PATH
	WebListenAddr    string     `toml:"web_listen_addr"`    // "" means the web UI is off; else host:port
	WebAllowRemote   bool       `toml:"web_allow_remote"`   // let web_listen_addr be a non-loopback address
	E2BListenAddr    string     `toml:"e2b_listen_addr"`    // "" means the E2B API is off; else host:port
	E2BAllowRemote   bool       `toml:"e2b_allow_remote"`   // let e2b_listen_addr be a non-loopback address
	VMM              VMM        `toml:"vmm"`                // auto, firecracker or qemu
	BridgeName       string     `toml:"bridge_name"`        // host bridge for VM networking
	BridgeSubnet     string     `toml:"bridge_subnet"`      // IPv4 network of the bridge, /16 to /29, in a private range
	DebianMirror     string     `toml:"debian_mirror"`      // "" means the host's apt mirror, else debootstrap's default
	DebianKeyring    string     `toml:"debian_keyring"`     // "" means Debian's archive keyring; verifies kernels and image builds
	NPMRegistry      string     `toml:"npm_registry"`       // "" means npm's own setting; used to fetch mise
	ConsoleLogMax    Size       `toml:"console_log_max"`    // 0 means DefaultConsoleLogMax; at least MinConsoleLogMax
	NetworkPolicy    string     `toml:"network_policy"`     // new VMs' network policy: internet, none, open or allow=LIST
	VMDefaults       VMDefaults `toml:"vm_defaults"`
	FileSync         []FileSync `toml:"file_sync"` // nil when there are no entries
}

// VMDefaults sizes new VMs. A nil field is not set in the config and is
// left to ResolveVMDefaults.
type VMDefaults struct {
	VCPU      *int  `toml:"vcpu"`       // MinVCPU to MaxVCPU
	MemoryMiB *int  `toml:"memory_mib"` // MinMemoryMiB to MaxMemoryMiB
	DiskSize  *Size `toml:"disk_size"`  // at least MinDiskSize
}

// FileSync copies a host file or directory onto a new VM's work disk.
type FileSync struct {
	Host  string `toml:"host"`  // absolute, or starting with ~/
	Guest string `toml:"guest"` // under ~/ or /root/
	Mode  string `toml:"mode"`  // octal permissions such as "0600"; "" for the default
}

// Default returns the config used when the file is missing or empty.
func Default() *Config {
	return &Config{
		DefaultImageName: DefaultImageName,
		VMM:              DefaultVMM,
		BridgeName:       DefaultBridgeName,
		BridgeSubnet:     DefaultBridgeSubnet,
		NetworkPolicy:    DefaultNetworkPolicy,
	}
}

// Load reads and parses the config file at path. A missing file is not an
// error: it yields Default().
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config file %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes and checks a config file's content. path is used only in
// error messages. On failure the error joins one *Error per problem, in
// line order, and matches errdefs.ErrInvalidArgument.
func Parse(path string, data []byte) (*Config, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, joinErrors([]*Error{syntaxError(path, err)})
	}
	d := &decoder{file: path, lines: indexLines(data)}
	c := Default()
	decodeTable(d, "", doc, topFields, c)
	d.checkWebRemote(c)
	d.checkE2BRemote(c)
	if err := joinErrors(d.errs); err != nil {
		return nil, err
	}
	return c, nil
}
