package daemon

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"banger/internal/config"
)

// liveConfig is the daemon's config, re-read when config.toml changes, so
// an edit (file_sync, ssh_key_path, vmm...) applies to the next command
// without restarting bangerd.
type liveConfig struct {
	path  string
	cur   atomic.Pointer[config.Config]
	mu    sync.Mutex // serialises reloads
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

// config is the config in force.
func (s *server) config() *config.Config { return s.cfg.cur.Load() }

// refreshConfig re-reads config.toml when it changed since it was last
// read. A broken file is an error for the request (it names file, line and
// key) and keeps the last good config in force. The bridge settings do not
// change while VMs hold taps on the old bridge: they apply once none does.
func (s *server) refreshConfig(ctx context.Context) error {
	l := s.cfg
	if l == nil || l.path == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	stamp := stampOf(l.path)
	if stamp == l.stamp {
		return nil
	}
	next, err := config.Load(l.path)
	if err != nil {
		return err
	}
	old := l.cur.Load()
	if (next.BridgeName != old.BridgeName || next.BridgeSubnet != old.BridgeSubnet) && s.tapsInUse(ctx) {
		s.log.Warn("config: bridge settings change once no VM runs", "bridge_name", next.BridgeName, "bridge_subnet", next.BridgeSubnet)
		next.BridgeName, next.BridgeSubnet = old.BridgeName, old.BridgeSubnet
		// Keep the old stamp's size so the next request looks again.
		stamp.size = -1
	}
	l.cur.Store(next)
	l.stamp = stamp
	s.log.Info("config reloaded", "path", l.path)
	return nil
}

// tapsInUse reports whether any VM holds a tap (or the store cannot say).
func (s *server) tapsInUse(ctx context.Context) bool {
	if s.store == nil {
		return false
	}
	vms, err := s.store.ListVMs(ctx)
	if err != nil {
		return true
	}
	for _, v := range vms {
		if v.Tap != "" {
			return true
		}
	}
	return false
}
