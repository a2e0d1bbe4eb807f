package cli

import (
	"fmt"
	"io"
)

// progressAfter is how many bytes a copy moves before its progress shows:
// small copies draw nothing.
const progressAfter = 8 << 20

// copyProgress draws a copy's bytes on a terminal. A nil one draws
// nothing.
type copyProgress struct {
	w     io.Writer
	total int64 // -1 when unknown
	done  int64
	bar   *byteBar
}

// newCopyProgress returns the progress of a copy of size bytes (nil size:
// unknown) drawn on w, or nil when w is not a terminal.
func newCopyProgress(w io.Writer, size func() int64) *copyProgress {
	if !isTerminal(w) {
		return nil
	}
	p := &copyProgress{w: w, total: -1}
	if size != nil {
		p.total = size()
	}
	return p
}

// writer counts what goes through to w.
func (p *copyProgress) writer(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return progressWriter{w, p}
}

type progressWriter struct {
	w io.Writer
	p *copyProgress
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.add(int64(n))
	return n, err
}

func (p *copyProgress) add(n int64) {
	p.done += n
	if p.bar == nil && p.done < progressAfter {
		return
	}
	if p.bar == nil {
		p.bar = newByteBar(p.w, "copying", p.total)
	}
	p.bar.set(p.done)
}

func (p *copyProgress) finish() {
	if p != nil && p.bar != nil {
		p.bar.finish()
		fmt.Fprintln(p.w)
	}
}
