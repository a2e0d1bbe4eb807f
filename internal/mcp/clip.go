package mcp

import (
	"fmt"
	"strings"
)

// clip keeps the start and the end of a stream of at most limit bytes
// in all: a quarter for the start (a command's first error) and the rest
// for the end (its last words, the summary of a build or a test run).
type clip struct {
	limit      int
	head, tail []byte
	total      int64
}

func newClip(limit int) *clip { return &clip{limit: limit} }

// Write keeps what the bounds allow of b.
func (c *clip) Write(b []byte) {
	c.total += int64(len(b))
	if room := c.limit/4 - len(c.head); room > 0 {
		n := min(room, len(b))
		c.head = append(c.head, b[:n]...)
		b = b[n:]
	}
	c.tail = append(c.tail, b...)
	if keep := c.limit - c.limit/4; len(c.tail) > 2*keep {
		c.tail = append(c.tail[:0:0], c.tail[len(c.tail)-keep:]...)
	}
}

// cut is how many bytes were dropped from the middle.
func (c *clip) cut() int64 {
	keep := c.limit - c.limit/4
	if len(c.tail) > keep {
		return c.total - int64(len(c.head)) - int64(keep)
	}
	return c.total - int64(len(c.head)) - int64(len(c.tail))
}

// String is what was kept, as text: bytes that are not UTF-8 become
// U+FFFD, and a note marks where the middle was cut.
func (c *clip) String() string {
	tail := c.tail
	if keep := c.limit - c.limit/4; len(tail) > keep {
		tail = tail[len(tail)-keep:]
	}
	s := string(c.head)
	if n := c.cut(); n > 0 {
		s += fmt.Sprintf("\n[... %d bytes cut here: the output passed the %d KiB limit; redirect it to a file in the sandbox and read parts with sandbox_read_file ...]\n", n, c.limit>>10)
	}
	return toText(s + string(tail))
}

// toText replaces what is not UTF-8 in s.
func toText(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}
