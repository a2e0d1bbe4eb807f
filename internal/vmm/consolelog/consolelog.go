// Package consolelog keeps a VM's serial console log bounded. The VMM
// appends to the log (its file is opened with O_APPEND, so writes land at
// the end whatever its size); bangerd rotates it by copy and truncate once
// it passes a size the user sets, keeping one older file beside it, and
// reads tails by seeking from the end. A guest that writes to its console
// without end thus costs about twice that size of disk, and its VMM never
// waits for bangerd: the rotation happens behind its back.
package consolelog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"banger/internal/atomicfile"
	"banger/internal/paths"
)

// Name is the console log's name in a VM's run directory.
const Name = paths.ConsoleLogName

// Rotated is the path of the older log kept beside path.
func Rotated(path string) string { return path + ".1" }

// Create starts the log at path afresh for a new boot, dropping what the
// last boot left, and returns it open for appending; the caller hands it
// to the VMM and closes its own copy.
func Create(path string) (*os.File, error) {
	if err := os.Remove(Rotated(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the last boot's console log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the console log: %w", err)
	}
	return f, nil
}

// Rotate moves the log at path to Rotated(path) and empties it, when it is
// larger than limit; it says whether it did. Of a log more than twice the
// limit (one that grew while nothing rotated it: bangerd was down) only
// the last limit bytes are kept, after a line saying how much was dropped.
// Output the guest writes between the copy and the truncation is lost.
func Rotate(path string, limit int64) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rotating the console log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("rotating the console log: %w", err)
	}
	if st.Size() <= limit {
		return false, nil
	}
	if err := copyOut(f, st.Size(), limit, Rotated(path)); err != nil {
		return false, fmt.Errorf("rotating the console log: %w", err)
	}
	if err := os.Truncate(path, 0); err != nil {
		return false, fmt.Errorf("rotating the console log: %w", err)
	}
	return true, nil
}

// copyOut writes f's content, or its last limit bytes when size is more
// than twice that, to dst, atomically. What f gains during the copy is
// copied too, up to twice the limit in all.
func copyOut(f *os.File, size, limit int64, dst string) error {
	return atomicfile.WriteFrom(dst, 0o600, func(w io.Writer) error {
		start := int64(0)
		if size > 2*limit {
			start = size - limit
			fmt.Fprintf(w, "[banger: %d bytes of console output dropped]\n", start)
		}
		// A guest writing without pause must not keep the copy going: it
		// takes at most twice the limit.
		_, err := io.Copy(w, io.NewSectionReader(f, start, 2*limit))
		return err
	})
}

// tailBlock is how much Tail reads at a time, from the end backwards.
const tailBlock = 4 << 10

// Tail returns the last n lines of what r holds in its first size bytes,
// reading backwards from the end, at most max bytes of it: a huge log
// costs no more than a small one.
func Tail(r io.ReaderAt, size int64, n int, max int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	end := size
	// A trailing newline ends the last line rather than starting another.
	var last [1]byte
	if end > 0 {
		if _, err := r.ReadAt(last[:], end-1); err != nil {
			return nil, err
		}
		if last[0] == '\n' {
			end--
		}
	}
	var out []byte
	for off := end; off > 0 && end-off < max; {
		step := min(tailBlock, off, max-(end-off))
		off -= step
		buf := make([]byte, step)
		if _, err := r.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		out = append(buf, out...)
		if i := nthLastNewline(out, n); i >= 0 {
			return out[i+1:], nil
		}
	}
	return out, nil
}

// nthLastNewline is the index of the nth newline from the end of b, or -1.
func nthLastNewline(b []byte, n int) int {
	for i := len(b); n > 0; n-- {
		i = bytes.LastIndexByte(b[:i], '\n')
		if i < 0 {
			return -1
		}
		if n == 1 {
			return i
		}
	}
	return -1
}

// TailFile is the last n lines of the log at path, at most max bytes,
// taking the lines it lacks from the rotated log when the log was rotated
// a moment ago.
func TailFile(path string, n int, max int64) ([]byte, error) {
	tail, whole, err := tailFile(path, n, max)
	if err != nil {
		return nil, err
	}
	lines := 0
	if len(tail) > 0 {
		lines = bytes.Count(tail, []byte("\n")) + 1
	}
	if !whole || lines >= n {
		return tail, nil
	}
	older, _, err := tailFile(Rotated(path), n-lines, max-int64(len(tail)))
	if err != nil || len(older) == 0 {
		return tail, nil
	}
	if len(tail) == 0 {
		return older, nil
	}
	return append(append(older, '\n'), tail...), nil
}

// tailFile is Tail of the file at path, and whether that is all of it.
func tailFile(path string, n int, max int64) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	tail, err := Tail(f, st.Size(), n, max)
	return tail, int64(len(tail)) >= st.Size()-1, err
}
