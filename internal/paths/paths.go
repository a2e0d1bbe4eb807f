// Package paths resolves where banger keeps its files. Every location honours
// the XDG base-directory variables, so tests can point banger at a temp dir.
// It also finds the installed guest agent binary (AgentBinary) and host
// programs a user's PATH may lack (LookTool).
package paths

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Dirs are banger's base directories.
type Dirs struct {
	Config  string // config.toml, managed SSH keys
	State   string // database, images, kernels, VM disks, daemon log
	Cache   string // downloads and the OCI layer cache
	Runtime string // daemon socket, pid and lock files
}

// maxSocketPath is the longest path a unix socket address can hold on Linux
// (sun_path is 108 bytes including the terminating NUL).
const maxSocketPath = 107

// FromEnv resolves the directories from the environment, following the XDG
// base-directory spec with HOME as the fallback. getenv is usually os.Getenv.
func FromEnv(getenv func(string) string) (Dirs, error) {
	home := getenv("HOME")
	base := func(xdgVar, fallback string) (string, error) {
		if v := getenv(xdgVar); v != "" {
			if !filepath.IsAbs(v) {
				return "", fmt.Errorf("%s=%q: must be an absolute path", xdgVar, v)
			}
			return filepath.Join(v, "banger"), nil
		}
		if home == "" {
			return "", fmt.Errorf("neither %s nor HOME is set: set one of them", xdgVar)
		}
		return filepath.Join(home, fallback, "banger"), nil
	}
	var d Dirs
	var err error
	if d.Config, err = base("XDG_CONFIG_HOME", ".config"); err != nil {
		return Dirs{}, err
	}
	if d.State, err = base("XDG_STATE_HOME", ".local/state"); err != nil {
		return Dirs{}, err
	}
	if d.Cache, err = base("XDG_CACHE_HOME", ".cache"); err != nil {
		return Dirs{}, err
	}
	d.Runtime = filepath.Join(d.State, "run")
	if v := getenv("XDG_RUNTIME_DIR"); v != "" && filepath.IsAbs(v) {
		d.Runtime = filepath.Join(v, "banger")
	}
	return d, nil
}

// Default resolves the directories from the process environment.
func Default() (Dirs, error) { return FromEnv(os.Getenv) }

// ConfigFile is the user's config file.
func (d Dirs) ConfigFile() string { return filepath.Join(d.Config, "config.toml") }

// Socket is the daemon's API socket.
func (d Dirs) Socket() string { return filepath.Join(d.Runtime, "bangerd.sock") }

// PIDFile holds the running daemon's process id.
func (d Dirs) PIDFile() string { return filepath.Join(d.Runtime, "bangerd.pid") }

// LockFile is held (flock) by the one running daemon.
func (d Dirs) LockFile() string { return filepath.Join(d.Runtime, "bangerd.lock") }

// LogFile is where an auto-started daemon writes its log.
func (d Dirs) LogFile() string { return filepath.Join(d.State, "bangerd.log") }

// LastGoodConfig is the daemon's copy of the last config.toml that
// parsed, used while config.toml is invalid.
func (d Dirs) LastGoodConfig() string { return filepath.Join(d.State, "config.last-good.toml") }

// WebToken holds the web UI's access token, which browsers on other
// machines present (see web_allow_remote).
func (d Dirs) WebToken() string { return filepath.Join(d.State, "web-token") }

// E2BKey holds the key E2B clients present to bangerd's E2B API (see
// e2b_listen_addr); `banger e2b env` prints it.
func (d Dirs) E2BKey() string { return filepath.Join(d.Config, "e2b-api-key") }

// E2BSandboxes holds what bangerd keeps of each E2B sandbox beside its VM:
// its access token, environment and template, one file per sandbox.
func (d Dirs) E2BSandboxes() string { return filepath.Join(d.State, "e2b") }

// Database is the daemon's SQLite store.
func (d Dirs) Database() string { return filepath.Join(d.State, "banger.db") }

// CheckSocket reports whether the socket can live where Socket says: its
// path must fit in a unix socket address, and the runtime dir must be a
// directory, or be missing where one can be made.
func (d Dirs) CheckSocket() error {
	if p := d.Socket(); len(p) > maxSocketPath {
		return fmt.Errorf("socket path %s is %d bytes, longer than the %d a unix socket allows: set XDG_RUNTIME_DIR to a shorter directory", p, len(p), maxSocketPath)
	}
	return d.checkRuntimeDir()
}

// checkRuntimeDir finds a file where the runtime dir, or one of its
// parents, should be a directory.
func (d Dirs) checkRuntimeDir() error {
	const fix = "bangerd keeps its socket there: move the file away, or set XDG_RUNTIME_DIR to another directory"
	for dir := d.Runtime; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		switch {
		case err == nil && fi.IsDir():
			return nil
		case err == nil && dir == d.Runtime:
			return fmt.Errorf("runtime dir %s is a file, not a directory; %s", dir, fix)
		case err == nil:
			return fmt.Errorf("runtime dir %s cannot be made: %s is a file, not a directory; %s", d.Runtime, dir, fix)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return fmt.Errorf("checking runtime dir %s: %w", d.Runtime, err)
		}
		if filepath.Dir(dir) == dir {
			return nil
		}
	}
}

// EnsureRuntime creates the runtime directory, private to the owner.
func (d Dirs) EnsureRuntime() error {
	if err := os.MkdirAll(d.Runtime, 0o700); err != nil {
		return fmt.Errorf("creating runtime dir: %w", err)
	}
	if err := os.Chmod(d.Runtime, 0o700); err != nil {
		return fmt.Errorf("securing runtime dir: %w", err)
	}
	return nil
}
