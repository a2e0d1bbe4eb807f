package cli

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Text from a guest (its console, its sessions' commands and names, errors
// that quote them) must not drive the user's terminal: an escape sequence
// could retitle the window, rewrite what is shown, or worse on some
// terminals. Everything banger prints from a guest goes through one of
// these.

// safeText makes s harmless to print, keeping its newlines and tabs: other
// control characters become visible (ESC shows as ^[), C1 controls,
// bidirectional overrides and invalid UTF-8 become U+FFFD.
func safeText(s string) string { return sanitize(s, true) }

// safeLine is safeText for one line or one table cell: newlines and tabs
// become visible too.
func safeLine(s string) string { return sanitize(s, false) }

func sanitize(s string, multiline bool) string {
	if isClean(s, multiline) {
		return s
	}
	var b strings.Builder
	for _, r := range s { // an invalid byte comes as utf8.RuneError
		switch {
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + '@')
		case r == 0x7f:
			b.WriteString("^?")
		case unsafeRune(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isClean says whether s is valid UTF-8 with nothing to replace.
func isClean(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && !(multiline && (r == '\n' || r == '\t'))) || r == 0x7f || unsafeRune(r) {
			return false
		}
	}
	return true
}

// unsafeRune: C1 controls, which some terminals obey, and the
// bidirectional overrides that make text show other than it reads.
func unsafeRune(r rune) bool {
	return r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// stripWriter passes a guest's console output on to a terminal without its
// escape sequences: colours and cursor moves are dropped whole, carriage
// returns dropped (serial consoles end lines with \r\n), other control
// characters shown as ^X and C1 controls as U+FFFD. Newlines and tabs
// pass. It keeps its state across writes, so a sequence split between two
// writes is still recognised.
type stripWriter struct {
	w     io.Writer
	state stripState
	n     int  // bytes swallowed in the current string sequence
	c2    bool // the last byte was 0xc2, which may start a C1 control
	out   []byte
}

type stripState int

const (
	plain    stripState = iota
	escaped             // after ESC
	csi                 // in ESC [ ... final
	str                 // in an OSC, DCS, PM, APC or SOS string
	strEsc              // ESC in such a string, which may end it
	maxStrip = 4 << 10  // a string sequence longer than this is not one
)

func newStripWriter(w io.Writer) *stripWriter { return &stripWriter{w: w} }

// Write filters p and writes what is left; it reports all of p written.
func (s *stripWriter) Write(p []byte) (int, error) {
	s.out = s.out[:0]
	for _, c := range p {
		s.byte(c)
	}
	if _, err := s.w.Write(s.out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a byte held back at the end of the output.
func (s *stripWriter) Flush() error {
	if !s.c2 {
		return nil
	}
	s.c2 = false
	_, err := s.w.Write([]byte{0xc2})
	return err
}

func (s *stripWriter) byte(c byte) {
	switch s.state {
	case escaped:
		s.escaped(c)
	case csi:
		if c >= 0x40 && c <= 0x7e {
			s.state = plain // the final byte
		} else if c < 0x20 || c >= 0x80 {
			s.state = plain // not a sequence after all
			s.plain(c)
		}
	case str, strEsc:
		s.inString(c)
	default:
		s.plain(c)
	}
}

func (s *stripWriter) escaped(c byte) {
	switch {
	case c == '[':
		s.state = csi
	case c == ']' || c == 'P' || c == '^' || c == '_' || c == 'X':
		s.state, s.n = str, 0
	case c >= 0x20 && c <= 0x2f:
		// an intermediate byte: the sequence goes on
	case c >= 0x30 && c <= 0x7e:
		s.state = plain // a two-byte sequence, dropped
	default:
		s.state = plain
		s.plain(c)
	}
}

// inString swallows a string sequence up to BEL or ESC \. A newline ends
// it too, and so does its length, so that a guest cannot hide the rest of
// its output behind one.
func (s *stripWriter) inString(c byte) {
	s.n++
	switch {
	case c == 0x07 || s.state == strEsc && c == '\\':
		s.state = plain
	case c == 0x1b:
		s.state = strEsc
	case c == '\n' || s.n > maxStrip:
		s.state = plain
		s.plain(c)
	default:
		s.state = str
	}
}

func (s *stripWriter) plain(c byte) {
	if s.c2 {
		s.c2 = false
		if c >= 0x80 && c <= 0x9f {
			s.out = utf8.AppendRune(s.out, utf8.RuneError) // a C1 control
			return
		}
		s.out = append(s.out, 0xc2)
	}
	switch {
	case c == 0x1b:
		s.state = escaped
	case c == '\r':
	case c == '\n' || c == '\t':
		s.out = append(s.out, c)
	case c < 0x20:
		s.out = append(s.out, '^', c+'@')
	case c == 0x7f:
		s.out = append(s.out, '^', '?')
	case c == 0xc2:
		s.c2 = true
	default:
		s.out = append(s.out, c)
	}
}
