package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"banger/internal/privilege"
)

// run runs a command through the root runner, feeding it stdin (may be
// nil) and handing each output line to line (may be nil). Errors carry the
// tail of the output, where tools say what went wrong. On cancellation the
// command gets SIGTERM first, so debootstrap can unmount what it mounted.
func run(ctx context.Context, r privilege.Runner, stdin io.Reader, line func(string), name string, args ...string) error {
	cmd := r.Command(ctx, name, args...)
	out := &lineWriter{line: line}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out, out
	if cmd.Cancel != nil { // made with exec.CommandContext
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 30 * time.Second
	}
	err := cmd.Run()
	out.flush()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", filepath.Base(name), ctx.Err())
		}
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, out.tail())
	}
	return nil
}

// tailLines is how much output an error keeps.
const tailLines = 20

// lineWriter splits output into lines, passes them on and keeps the last
// few for errors.
type lineWriter struct {
	line    func(string)
	partial bytes.Buffer
	last    []string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.partial.Write(p)
	for {
		i := bytes.IndexByte(w.partial.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		w.emit(string(w.partial.Next(i + 1)))
	}
}

func (w *lineWriter) flush() {
	if w.partial.Len() > 0 {
		w.emit(w.partial.String())
		w.partial.Reset()
	}
}

func (w *lineWriter) emit(s string) {
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		return
	}
	if w.line != nil {
		w.line(s)
	}
	w.last = append(w.last, s)
	if len(w.last) > tailLines {
		w.last = w.last[len(w.last)-tailLines:]
	}
}

func (w *lineWriter) tail() string { return strings.Join(w.last, "\n") }
