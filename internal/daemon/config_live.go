package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"banger/internal/atomicfile"
	"banger/internal/config"
	"banger/internal/paths"
)

// liveConfig is the daemon's config, re-read when config.toml changes, so
// an edit (file_sync, ssh_key_path, vmm...) applies to the next command
// without restarting bangerd. While config.toml is invalid the last good
// config stays in force, and every answer says so (see warning): a typo
// must not keep the user from listing or stopping VMs.
type liveConfig struct {
	path  string
	keep  string // where the last good config's text is kept; "" keeps none
	cur   atomic.Pointer[config.Config]
	warn  atomic.Pointer[string] // why config.toml is not in force; nil while it is
	mu    sync.Mutex             // serialises reloads
	stamp fileStamp
}

// fileStamp tells whether a file changed: size and modification time, or
// absent.
type fileStamp struct {
	exists bool
	size   int64
	mtime  time.Time
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{exists: true, size: st.Size(), mtime: st.ModTime()}
}

// newLiveConfig holds cfg, loaded from path when its stamp was stamp.
func newLiveConfig(path string, cfg *config.Config, stamp fileStamp) *liveConfig {
	l := &liveConfig{path: path, stamp: stamp}
	l.cur.Store(cfg)
	return l
}

// loadLiveConfig reads config.toml at start-up. When it is invalid, the
// copy of the last good one that an earlier daemon kept is used, with the
// warning; when there is none, the error stops the daemon: starting on the
// defaults instead could turn on what the file turns off.
func loadLiveConfig(dirs paths.Dirs, log *slog.Logger) (*liveConfig, error) {
	l := &liveConfig{path: dirs.ConfigFile(), keep: dirs.LastGoodConfig(), stamp: stampOf(dirs.ConfigFile())}
	cfg, data, err := readConfig(l.path)
	if err == nil {
		l.cur.Store(cfg)
		l.keepGood(log, data)
		return l, nil
	}
	kept, kerr := os.ReadFile(l.keep)
	if kerr != nil {
		return nil, err
	}
	good, kerr := config.Parse(l.keep, kept)
	if kerr != nil {
		return nil, err
	}
	l.cur.Store(good)
	l.setInvalid(log, err)
	return l, nil
}

// readConfig reads and parses a config file. A missing file is the
// default config, with no text.
func readConfig(path string) (*config.Config, []byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return config.Default(), nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading config file %s: %w", path, err)
	}
	cfg, err := config.Parse(path, data)
	return cfg, data, err
}

// keepGood saves the text of a config that parsed, for a later daemon to
// start on while config.toml is invalid.
func (l *liveConfig) keepGood(log *slog.Logger, data []byte) {
	if l.keep == "" {
		return
	}
	if err := atomicfile.Write(l.keep, data); err != nil {
		log.Warn("config: cannot keep a copy of the good config", "err", err)
	}
}

// setInvalid records why config.toml is not in force, and logs it when
// the reason changed.
func (l *liveConfig) setInvalid(log *slog.Logger, err error) {
	problem := config.Brief(err)
	msg := fmt.Sprintf("%s is invalid (%s); bangerd uses the last good config until it is fixed", filepath.Base(l.path), problem)
	if old := l.warn.Swap(&msg); old == nil || *old != msg {
		log.Warn("config is invalid; using the last good config", "path", l.path, "problem", problem)
	}
}

// warning says why config.toml is not in force, or "" when it is.
func (l *liveConfig) warning() string {
	if l == nil {
		return ""
	}
	if w := l.warn.Load(); w != nil {
		return *w
	}
	return ""
}

// current is the config in force.
func (l *liveConfig) current() *config.Config { return l.cur.Load() }

// refresh re-reads config.toml when it changed since it was last read. A
// broken file keeps the last good config in force and sets the warning.
// The bridge settings do not change while busy reports that VMs hold taps
// on the old bridge: they apply once none does.
func (l *liveConfig) refresh(ctx context.Context, log *slog.Logger, busy func(context.Context) bool) {
	if l == nil || l.path == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	stamp := stampOf(l.path)
	if stamp == l.stamp {
		return
	}
	l.stamp = stamp
	next, data, err := readConfig(l.path)
	if err != nil {
		l.setInvalid(log, err)
		return
	}
	old := l.cur.Load()
	if (next.BridgeName != old.BridgeName || next.BridgeSubnet != old.BridgeSubnet) && busy(ctx) {
		log.Warn("config: bridge settings change once no VM runs", "bridge_name", next.BridgeName, "bridge_subnet", next.BridgeSubnet)
		next.BridgeName, next.BridgeSubnet = old.BridgeName, old.BridgeSubnet
		// Spoil the stamp so the next request looks again.
		l.stamp.size = -1
	}
	l.cur.Store(next)
	l.keepGood(log, data)
	if l.warn.Swap(nil) != nil {
		log.Info("config: config.toml is valid again", "path", l.path)
	}
	log.Info("config reloaded", "path", l.path)
}
