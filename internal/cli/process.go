package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"banger/internal/api"
	"banger/internal/api/client"
)

// detachKey is Ctrl-], which leaves an attached session's terminal.
const detachKey = 0x1d

// processIO says how a local terminal or pipes meet a remote process.
type processIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Raw puts stdin's terminal in raw mode, so that every key (Ctrl-C
	// too) goes to the remote terminal, and forwards window size changes.
	Raw bool
	// Detach: Ctrl-] on a raw terminal, or Ctrl-C otherwise, leaves the
	// remote process running instead of reaching it.
	Detach bool
	// CloseStdin sends the end of stdin on; without it the remote input
	// just stops.
	CloseStdin bool
}

// processEnd is how a run of pumpProcess ended.
type processEnd struct {
	Exit     *api.ExitStatus // the remote process ended so
	Detached bool
}

// pumpProcess carries stdin, output, window sizes and signals between the
// local side and p until the remote process ends or the user detaches.
// Outside raw mode, SIGINT, SIGTERM, SIGHUP and SIGQUIT go to the remote
// process group (with Detach, SIGINT detaches instead).
func pumpProcess(p *client.ProcessConn, o processIO) (processEnd, error) {
	events := make(chan error, 3) // nil: detach; else why input stopped
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if o.Raw {
		if f, ok := o.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			if old, err := term.MakeRaw(int(f.Fd())); err == nil {
				defer term.Restore(int(f.Fd()), old)
			}
		}
		stop := watchWindow(p, o.Stdout)
		defer stop()
	}
	go func() { events <- pumpStdin(p, o) }()

	outputs := make(chan client.Output, 16)
	outErr := make(chan error, 1)
	go func() {
		for {
			out, err := p.Next()
			if err != nil {
				outErr <- err
				return
			}
			outputs <- out
			if out.Exit != nil {
				return
			}
		}
	}()
	for {
		select {
		case out := <-outputs:
			if out.Exit != nil {
				return processEnd{Exit: out.Exit}, nil
			}
			if out.Stdout != nil {
				o.Stdout.Write(out.Stdout)
			} else {
				o.Stderr.Write(out.Stderr)
			}
		case err := <-outErr:
			return processEnd{}, err
		case err := <-events:
			if err == nil {
				return processEnd{Detached: true}, nil
			}
		case sig := <-sigs:
			if o.Detach && sig == syscall.SIGINT {
				return processEnd{Detached: true}, nil
			}
			p.Signal(signalName(sig))
		}
	}
}

// pumpStdin sends stdin until it ends (reported as io.EOF) or, with
// Detach on a raw terminal, until Ctrl-] (reported as nil).
func pumpStdin(p *client.ProcessConn, o processIO) error {
	if o.Stdin == nil {
		if o.CloseStdin {
			p.CloseStdin()
		}
		return io.EOF
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := o.Stdin.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			i := bytes.IndexByte(chunk, detachKey)
			if o.Detach && o.Raw && i >= 0 {
				if i > 0 {
					p.Stdin(chunk[:i])
				}
				return nil
			}
			if werr := p.Stdin(chunk); werr != nil {
				return werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && o.CloseStdin {
				p.CloseStdin()
			}
			return io.EOF
		}
	}
}

// watchWindow sends the terminal's size now and on every SIGWINCH until
// the returned function is called.
func watchWindow(p *client.ProcessConn, w io.Writer) func() {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-winch:
				if cols, rows, err := term.GetSize(int(f.Fd())); err == nil {
					p.Resize(uint16(rows), uint16(cols))
				}
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
	}
}

// terminalSize is w's size when it is a terminal.
func terminalSize(w io.Writer) (rows, cols uint16, ok bool) {
	f, isFile := w.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return 0, 0, false
	}
	c, r, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0, 0, false
	}
	return uint16(r), uint16(c), true
}

func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGQUIT:
		return "QUIT"
	}
	return "TERM"
}
