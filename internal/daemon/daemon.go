// Package daemon is bangerd: it owns banger's state and serves the
// versioned HTTP+JSON API on a unix socket. Exactly one daemon runs per
// state directory; a flock on the lock file decides which.
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"banger/internal/api/server"
	"banger/internal/atomicfile"
	"banger/internal/config"
	"banger/internal/e2b"
	"banger/internal/mcp"
	"banger/internal/mcp/mcpcmd"
	"banger/internal/network"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/version"
	"banger/internal/vm"
)

// ErrAlreadyRunning is returned when another daemon holds the lock.
var ErrAlreadyRunning = errors.New("another bangerd is already running")

// shutdownGrace bounds how long in-flight requests may run after a stop.
const shutdownGrace = 10 * time.Second

// Run is bangerd's entry point. It serves until ctx is cancelled (SIGTERM)
// or a client asks it to shut down.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "net" {
		return network.RunHelper(args) // the privileged helper, run through sudo
	}
	if len(args) > 0 && args[0] == mcpcmd.Command {
		return mcp.Main(ctx, args[1:], os.Stdin, stdout, stderr) // `banger mcp`, a client of the daemon
	}
	fs := flag.NewFlagSet("bangerd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	cleanup := fs.Bool("cleanup", false, "remove the bridge, taps and nftables rules banger added, then exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bangerd [--version] [--cleanup]\n\nbangerd is banger's daemon. The banger CLI starts it on first use;\nrunning it by hand keeps it in the foreground, logging to stderr.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.Version)
		return nil
	}
	dirs, err := paths.Default()
	if err != nil {
		return err
	}
	if *cleanup {
		return cleanupNetwork(ctx, dirs, stdout)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	return Serve(ctx, dirs, log)
}

// cleanupNetwork removes what banger added to the host's network. VMs
// still running lose their network; their records stay.
func cleanupNetwork(ctx context.Context, dirs paths.Dirs, stdout io.Writer) error {
	cfg, err := config.Load(dirs.ConfigFile())
	if err != nil {
		return err
	}
	nc, err := vm.NetConfig(cfg)
	if err != nil {
		return err
	}
	self, _ := os.Executable()
	if err := network.NewClient(self).Teardown(ctx, nc); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed bridge %s, its taps and banger's nftables table\n", nc.Bridge)
	return nil
}

// Serve runs the daemon for dirs until ctx is done or shutdown is requested.
func Serve(ctx context.Context, dirs paths.Dirs, log *slog.Logger) error {
	if err := dirs.CheckSocket(); err != nil {
		return err
	}
	if err := dirs.EnsureRuntime(); err != nil {
		return err
	}
	unlock, err := lock(dirs.LockFile())
	if err != nil {
		return err
	}
	defer unlock()

	live, err := loadLiveConfig(dirs, log)
	if err != nil {
		return err
	}
	cfg := live.cur.Load()
	st, err := store.Open(ctx, dirs.Database())
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	defer st.Close()

	ln, err := listen(dirs.Socket())
	if err != nil {
		return err
	}
	if err := writePID(dirs.PIDFile()); err != nil {
		ln.Close()
		return err
	}
	defer os.Remove(dirs.PIDFile())
	defer os.Remove(dirs.Socket())

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	d := wire(ctx, dirs, live, st, log, stop)
	ui := d.startWeb(cfg, server.WebBackend(d.api()))
	d.e2b = e2b.Start(d.e2bOptions(cfg))
	d.lib.SweepScratch(ctx)
	d.vms.Recover(ctx)
	d.vms.Adopt(ctx)
	log.Info("bangerd started", "version", version.Version, "pid", os.Getpid(), "socket", dirs.Socket())
	err = d.serve(ctx, ln, ui)
	d.vms.Close()
	log.Info("bangerd stopped")
	return err
}

// serve runs the HTTP server (and the web UI and E2B API, when set) until
// ctx is done, then drains it.
func (d *process) serve(ctx context.Context, ln net.Listener, ui *webUI) error {
	hs := &http.Server{
		Handler:           server.New(d.api()),
		ConnContext:       server.WithPeer,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving api: %w", err)
		}
		return nil
	})
	g.Go(func() error { d.serveWeb(gctx, ui); return nil })
	g.Go(func() error { d.e2b.Serve(gctx); return nil })
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		return hs.Shutdown(sctx)
	})
	return g.Wait()
}

// lock takes the daemon lock without blocking.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (lock %s is held)", ErrAlreadyRunning, path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// listen replaces any stale socket (we hold the lock, so it is stale) and
// listens with owner-only permissions.
func listen(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale socket: %w", err)
	}
	old := unix.Umask(0o177)
	ln, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("securing socket: %w", err)
	}
	return ln, nil
}

// writePID writes the pid file atomically.
func writePID(path string) error {
	if err := atomicfile.Write(path, []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		return fmt.Errorf("writing pid file: %w", err)
	}
	return nil
}
