package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
)

// sparseBlock is the unit of hole detection: a block of this many zero
// bytes, aligned in the file, is skipped rather than written.
const sparseBlock = 4 << 10

var zeroBlock = make([]byte, sparseBlock)

// writeSparse copies r into the empty file dst, leaving holes where r has
// aligned zero blocks, and truncates dst to the length copied. It returns
// that length and the sha256 of everything read.
func writeSparse(dst *os.File, r io.Reader) (int64, string, error) {
	h := sha256.New()
	buf := make([]byte, copyBufSize) // a multiple of sparseBlock keeps chunks aligned
	var off int64
	for {
		n, err := fill(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			if werr := writeData(dst, buf[:n], off); werr != nil {
				return off, "", werr
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return off, "", err
		}
	}
	if err := dst.Truncate(off); err != nil {
		return off, "", err
	}
	return off, hex.EncodeToString(h.Sum(nil)), nil
}

// writeData writes the non-zero blocks of p at off, each run of them in one
// write, seeking (by offset) over the zero blocks.
func writeData(dst *os.File, p []byte, off int64) error {
	start := -1 // start of the current run of data blocks
	for i := 0; i < len(p); i += sparseBlock {
		end := min(i+sparseBlock, len(p))
		zero := bytes.Equal(p[i:end], zeroBlock[:end-i])
		switch {
		case !zero && start < 0:
			start = i
		case zero && start >= 0:
			if _, err := dst.WriteAt(p[start:i], off+int64(start)); err != nil {
				return err
			}
			start = -1
		}
	}
	if start >= 0 {
		_, err := dst.WriteAt(p[start:], off+int64(start))
		return err
	}
	return nil
}

// fill reads into buf until it is full or r fails; io.EOF means r ended.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
