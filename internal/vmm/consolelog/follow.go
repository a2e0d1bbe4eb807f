package consolelog

import (
	"errors"
	"io"
	"os"
)

// Follower reads a console log as it grows, across rotations: output
// the rotation moved away before the follower read it is read from the
// rotated file first. A log that shrinks without a rotation started over
// (the VM booted again), which Read reports.
type Follower struct {
	path    string
	f       *os.File
	off     int64
	rotated os.FileInfo // Rotated(path) as last seen; nil when absent
	old     *os.File    // the rotated file, while its rest is read
}

// Follow opens the log at path to follow it from backlog bytes before its
// end (from its start when it is smaller). A missing log is
// os.ErrNotExist.
func Follow(path string, backlog int64) (*Follower, error) {
	fl := &Follower{path: path}
	fl.rotated, _ = os.Stat(Rotated(path))
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	fl.f, fl.off = f, max(0, st.Size()-backlog)
	return fl, nil
}

// Skipped is how many bytes of the log precede what the follower reads
// first.
func (fl *Follower) Skipped() int64 { return fl.off }

// Read reads what the log gained since the last Read into p. It returns
// 0 and nil when there is nothing new, and restarted true when the log
// started over: what follows is a new boot's.
func (fl *Follower) Read(p []byte) (n int, restarted bool, err error) {
	if fl.old == nil && fl.rotatedAway() {
		// The log was rotated since the last Read, maybe written to
		// again already: what the follower had not read yet is in the
		// rotated file, from the same offset.
		old, err := os.Open(Rotated(fl.path))
		if err == nil && fl.rotated.Size() >= fl.off {
			fl.old = old
		} else if err == nil {
			old.Close()
			fl.off = 0 // a cut copy: go on with the new log
		}
	}
	if fl.old != nil {
		n, err := fl.old.ReadAt(p, fl.off)
		fl.off += int64(n)
		if n > 0 {
			return n, false, nil
		}
		fl.old.Close()
		fl.old, fl.off = nil, 0
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, false, err
		}
	}
	st, err := fl.f.Stat()
	if err != nil {
		return 0, false, err
	}
	if st.Size() < fl.off {
		restarted, fl.off = true, 0
	}
	n, err = fl.f.ReadAt(p, fl.off)
	fl.off += int64(n)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, restarted, err
}

// rotatedAway says whether the log was rotated since the follower last
// looked: the rotated file beside it is a new one.
func (fl *Follower) rotatedAway() bool {
	st, err := os.Stat(Rotated(fl.path))
	if err != nil {
		fl.rotated = nil
		return false
	}
	// An inode can be reused by a later rotation; its time and size tell.
	fresh := fl.rotated == nil || !os.SameFile(fl.rotated, st) ||
		!fl.rotated.ModTime().Equal(st.ModTime()) || fl.rotated.Size() != st.Size()
	fl.rotated = st
	return fresh
}

// Close closes the log.
func (fl *Follower) Close() error {
	if fl.old != nil {
		fl.old.Close()
	}
	return fl.f.Close()
}
