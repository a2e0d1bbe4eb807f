package cli

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"

	"banger/internal/progress"
)

// progressView draws a daemon's progress: a line per step, byte bars on a
// terminal, and notes (the last one redrawn in place on a terminal).
type progressView struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	step string
	bar  *byteBar
	note bool // a note is on the current terminal line
}

// newProgress returns a progress.Func that draws on w, and a function that
// finishes the drawing.
func newProgress(w io.Writer) (progress.Func, func()) {
	v := &progressView{w: w, tty: isTerminal(w)}
	return v.show, v.finish
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (v *progressView) show(e progress.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e.Step != "" && e.Step != v.step {
		v.endLine()
		v.step = e.Step
		fmt.Fprintf(v.w, "==> %s\n", e.Step)
	}
	switch {
	case e.Message != "":
		v.message(e.Message)
	case e.Total > 0 && v.tty:
		v.bytes(e.Done, e.Total)
	}
}

func (v *progressView) message(msg string) {
	if v.bar != nil {
		v.endLine()
	}
	if v.tty {
		fmt.Fprintf(v.w, "\r\033[K    %s", msg)
		v.note = true
		return
	}
	fmt.Fprintf(v.w, "    %s\n", msg)
}

func (v *progressView) bytes(done, total int64) {
	if v.note {
		v.endLine()
	}
	if v.bar == nil {
		v.bar = newByteBar(v.w, "", total)
	}
	v.bar.set(done)
}

// endLine finishes a bar or an in-place note.
func (v *progressView) endLine() {
	if v.bar != nil {
		v.bar.finish()
		fmt.Fprintln(v.w)
		v.bar = nil
	}
	if v.note {
		fmt.Fprintln(v.w)
		v.note = false
	}
}

func (v *progressView) finish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.endLine()
}
