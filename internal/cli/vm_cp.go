package cli

import (
	"context"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/tarcopy"
)

// VMCpOptions are the inputs of `banger vm cp`.
type VMCpOptions struct {
	VM string
	// HostPath and GuestPath are the two ends; GuestPath is absolute.
	HostPath, GuestPath string
	// ToGuest: HostPath is the source.
	ToGuest bool
	Stderr  io.Writer
}

func newVMCpCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "cp SRC DST",
		Short: "Copy files and directories between the host and a VM",
		Long:  vmCpHelp,
		Example: `  banger vm cp box:/etc/hosts .             makes ./hosts
  banger vm cp ./src box:/root/app          app is a copy of src (or src goes into app, if it exists)
  banger vm cp box:/root/app/out ./results  a directory back to the host`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := parseCpArgs(args[0], args[1])
			if err != nil {
				return err
			}
			opts.Stderr = a.stderr
			return copier{a}.vmCp(cmd.Context(), opts)
		},
	}
}

// vmCpHelp is the long help of `banger vm cp`.
const vmCpHelp = `Copy a file, a directory or a symbolic link between the host and a running
VM, through banger's guest agent: no sshd or network needed, so it works
under every network policy, none included. One side is NAME:PATH, the
other a host path. A guest path that is not absolute is under /root.

  banger vm cp box:/etc/hosts .           makes ./hosts
  banger vm cp ./src box:/root/app        app is a copy of src, or app/src if app exists
  banger vm cp ./src/. box:/root/app      the contents of src into app
  banger vm cp box:/var/log/app.log /tmp/

Where a copy lands follows docker cp:
  - DST is a directory: SRC is copied into it, as DST/NAME-OF-SRC; a
    SRC ending in /. copies the directory's contents instead.
  - DST does not exist: it becomes the copy (its parent must exist); a
    DST ending in / must be an existing directory.
  - DST is a file: a file SRC overwrites it; a directory SRC cannot.

Modes and modification times are kept; symbolic links are copied as
links, never followed; devices, sockets and pipes are refused. Files
belong to root in the guest and to you on the host, and files copied to
the host lose setuid and setgid bits. A copy to the host stops before it
would leave less than 64 MiB free, whatever the guest sends, and never
writes outside DST. A failed copy leaves what it wrote so far, but a
single file (unless the VM's guest agent predates file operations) is
written to a temporary file renamed into place at the end: its
destination is whole, or as it was.

Progress is drawn on standard error when it is a terminal.`

// parseCpArgs finds which of src and dst is in a VM.
func parseCpArgs(src, dst string) (VMCpOptions, error) {
	sVM, sPath, sRemote := splitVMPath(src)
	dVM, dPath, dRemote := splitVMPath(dst)
	switch {
	case sRemote && dRemote:
		return VMCpOptions{}, errdefs.InvalidArgument("vm cp copies between the host and one VM, but %s and %s are both in VMs: copy to the host, then on", src, dst)
	case !sRemote && !dRemote:
		return VMCpOptions{}, errdefs.InvalidArgument("neither %s nor %s is in a VM: write one as NAME:PATH, as in `banger vm cp box:/etc/hosts .`", src, dst)
	case sRemote:
		return VMCpOptions{VM: sVM, GuestPath: sPath, HostPath: dst}, nil
	}
	return VMCpOptions{VM: dVM, GuestPath: dPath, HostPath: src, ToGuest: true}, nil
}

// splitVMPath splits NAME:PATH. A host path with a colon can be written
// ./a:b, as a name never holds a slash.
func splitVMPath(arg string) (vm, p string, ok bool) {
	vm, p, ok = strings.Cut(arg, ":")
	if !ok || vm == "" || strings.Contains(vm, "/") {
		return "", "", false
	}
	if !path.IsAbs(p) {
		p = "/root/" + p // keeps a trailing / or /.
	}
	return vm, p, true
}

// copier runs `banger vm cp` in either direction.
type copier struct{ a *app }

// vmCp runs one copy.
func (c copier) vmCp(ctx context.Context, opts VMCpOptions) error {
	a := c.a
	if opts.ToGuest {
		return copier{a}.copyIn(ctx, opts)
	}
	return copier{a}.copyOut(ctx, opts)
}

// copyIn sends a regular host file with the file operations, anything
// else as a tar stream for the guest to extract.
func (c copier) copyIn(ctx context.Context, opts VMCpOptions) error {
	src := tarcopy.Source{Path: opts.HostPath}
	fi, err := src.Check()
	if err != nil {
		return err
	}
	return c.a.call(ctx, func(c *client.Client) error {
		if fi.Mode().IsRegular() && plainPath(opts.HostPath) {
			files := client.Files{Client: c, VM: opts.VM}
			if target := fileInTarget(ctx, files, opts.GuestPath, fi.Name()); target != "" {
				return fileIn(ctx, files, opts, target, fi)
			}
		}
		return tarIn(ctx, c, opts, src)
	})
}

// tarIn sends the host path as a tar stream for the guest to extract.
func tarIn(ctx context.Context, c *client.Client, opts VMCpOptions, src tarcopy.Source) error {
	prog := newCopyProgress(opts.Stderr, src.Size)
	defer prog.finish()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarcopy.Write(prog.writer(pw), src)) }()
	defer pr.Close()
	return c.CopyIn(ctx, opts.VM, opts.GuestPath, pr)
}

// maxTrailer bounds what a copy-out reads past the end of the tar.
const maxTrailer = 1 << 20

// errCopyStopped ends a copy-out whose extraction stopped first.
var errCopyStopped = errors.New("the copy stopped")

// copyOut copies a regular guest file with the file operations, anything
// else as a tar stream, under the host's own checks: the guest is not
// trusted.
func (c copier) copyOut(ctx context.Context, opts VMCpOptions) error {
	if err := tarcopy.CheckDest(opts.HostPath); err != nil {
		return err
	}
	lim, err := tarcopy.LimitsFor(opts.HostPath)
	if err != nil {
		return err
	}
	isFile := false
	err = c.a.call(ctx, func(c *client.Client) error {
		files := client.Files{Client: c, VM: opts.VM}
		if isFile = guestFileSource(ctx, files, opts.GuestPath); isFile {
			return fileOut(ctx, files, opts, lim)
		}
		return nil
	})
	if isFile {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return c.tarOut(ctx, opts, lim)
}

// tarOut extracts the guest's tar stream at the host path.
func (c copier) tarOut(ctx context.Context, opts VMCpOptions, lim tarcopy.Limits) error {
	a := c.a
	prog := newCopyProgress(opts.Stderr, nil)
	defer prog.finish()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	received := make(chan error, 1)
	go func() {
		err := a.call(cctx, func(c *client.Client) error {
			return c.CopyOut(cctx, opts.VM, opts.GuestPath, prog.writer(pw))
		})
		pw.CloseWithError(err) // nil: the end of the stream
		received <- err
	}()
	_, xerr := tarcopy.Extract(pr, opts.HostPath, tarcopy.Options{Limits: lim, Where: "on the host"})
	if xerr == nil {
		// The tar's end padding, up to the guest's status; a guest that
		// sends more than the padding is cut off.
		_, _ = io.CopyN(io.Discard, pr, maxTrailer)
	} else {
		cancel() // the guest may be stalling: stop waiting for it
	}
	pr.CloseWithError(errCopyStopped)
	return copyOutcome(xerr, <-received)
}

// copyOutcome is a copy-out's error: the host's own verdict on the
// stream (an entry refused, no space), unless the stream broke because
// the guest failed, whose reason then comes first.
func copyOutcome(xerr, rerr error) error {
	if errors.Is(rerr, errCopyStopped) || errors.Is(rerr, context.Canceled) && xerr != nil {
		rerr = nil
	}
	if xerr != nil && (rerr == nil || !errors.Is(xerr, rerr)) {
		return xerr
	}
	return rerr
}
