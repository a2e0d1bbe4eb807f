package agent

import "sync"

// ring keeps the last size bytes written to it, addressed by absolute
// offsets (the count of bytes written before them), so that any number of
// readers can follow it at their own pace: one that falls behind by more
// than size skips ahead and is told how much it missed.
type ring struct {
	mu      sync.Mutex
	buf     []byte
	end     int64 // offset after the last byte written
	closed  bool
	changed chan struct{} // closed and replaced on every write and on close
}

func newRing(size int) *ring {
	return &ring{buf: make([]byte, size), changed: make(chan struct{})}
}

// Write appends p, overwriting the oldest bytes. It never blocks on
// readers.
func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	if len(p) > len(r.buf) {
		r.end += int64(len(p) - len(r.buf))
		p = p[len(p)-len(r.buf):]
	}
	for len(p) > 0 {
		i := int(r.end % int64(len(r.buf)))
		c := copy(r.buf[i:], p)
		p = p[c:]
		r.end += int64(c)
	}
	r.wake()
	return n, nil
}

// Close marks the end of the output; readers drain what is left.
func (r *ring) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.wake()
	}
}

func (r *ring) wake() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// bounds are the offsets of the oldest byte kept and of the end.
func (r *ring) bounds() (start, end int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.start(), r.end
}

func (r *ring) start() int64 { return max(0, r.end-int64(len(r.buf))) }

// ringRead is what one read found.
type ringRead struct {
	n       int   // bytes copied
	next    int64 // offset to read from next
	skipped int64 // bytes lost because the reader fell behind
	closed  bool  // the output ended and the reader has it all
	// changed is closed when there is more to read, when n is 0.
	changed <-chan struct{}
}

// read copies into p the bytes from offset off on.
func (r *ring) read(off int64, p []byte) ringRead {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res ringRead
	if s := r.start(); off < s {
		res.skipped, off = s-off, s
	}
	avail := r.end - off
	if avail <= 0 {
		res.next, res.closed, res.changed = off, r.closed, r.changed
		return res
	}
	want := int(min(avail, int64(len(p))))
	for res.n < want {
		i := int((off + int64(res.n)) % int64(len(r.buf)))
		res.n += copy(p[res.n:want], r.buf[i:])
	}
	res.next = off + int64(res.n)
	return res
}
