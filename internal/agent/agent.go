// Package agent is banger-vsock-agent, the guest side of banger. It
// answers bangerd over the channels the VMM gives the guest (a
// virtio-serial port, AF_VSOCK, or both) with the guest's readiness,
// addresses and SSH host keys, and powers the guest off on request; the
// protocol is package agentproto and the host side package agentclient.
//
// Started by the image's service manager it is Run; as PID 1 of an image
// without an init it is RunInit, which serves the same way.
package agent

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"banger/internal/version"
)

// Run is the agent's entry point: it serves the host until ctx ends.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts := DefaultOptions()
	fs := flag.NewFlagSet("banger-vsock-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	debug := fs.Bool("debug", false, "log every request")
	fs.StringVar(&opts.SerialPath, "serial", opts.SerialPath, "virtio-serial port to serve on (\"\" for none)")
	vsockPort := fs.Uint("vsock-port", uint(opts.VsockPort), "AF_VSOCK port to listen on (0 for none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.Version)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: the agent takes only flags (see -help)", fs.Args())
	}
	opts.VsockPort = uint32(*vsockPort)
	if opts.SerialPath == "" {
		opts.SerialName = ""
	}
	opts.Logger = newLogger(stderr, *debug)
	opts.Logger.Info("starting", "version", version.Version)
	return NewServer(opts).Serve(ctx)
}

// newLogger logs to w without timestamps: the journal or the console
// adds its own.
func newLogger(w io.Writer, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}
