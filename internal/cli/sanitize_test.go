package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeText(t *testing.T) {
	for _, tc := range []struct{ in, text, line string }{
		{"plain text", "plain text", "plain text"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab", "two^Jlines^Iand a tab"},
		{"\x1b]0;owned\x07title", "^[]0;owned^Gtitle", "^[]0;owned^Gtitle"},
		{"\x1b[2Jcleared", "^[[2Jcleared", "^[[2Jcleared"},
		{"back\rspace\b\x7f", "back^Mspace^H^?", "back^Mspace^H^?"},
		{"c1 \u009b31m", "c1 \uFFFD31m", "c1 \uFFFD31m"},
		{"bidi \u202egnp.exe", "bidi \uFFFDgnp.exe", "bidi \uFFFDgnp.exe"},
		{"bad \xff byte", "bad \uFFFD byte", "bad \uFFFD byte"},
		{"héllo ✓", "héllo ✓", "héllo ✓"},
	} {
		if got := safeText(tc.in); got != tc.text {
			t.Errorf("safeText(%q) = %q; want %q", tc.in, got, tc.text)
		}
		if got := safeLine(tc.in); got != tc.line {
			t.Errorf("safeLine(%q) = %q; want %q", tc.in, got, tc.line)
		}
	}
}

// An error quoting a guest's console reaches the terminal without the
// console's escape sequences.
func TestReportMakesGuestTextSafe(t *testing.T) {
	var buf bytes.Buffer
	Report(&buf, errors.New("the VM exited while booting; its console ends with:\n\x1b]0;owned\x07\x1b[31mpanic\x1b[0m"))
	want := "banger: the VM exited while booting; its console ends with:\n^[]0;owned^G^[[31mpanic^[[0m\n"
	if buf.String() != want {
		t.Errorf("Report = %q; want %q", buf.String(), want)
	}
}

// A table cell cannot add rows or move the cursor.
func TestTableCellsAreSafe(t *testing.T) {
	var buf bytes.Buffer
	tb := newTable(&buf, "NAME", "COMMAND")
	tb.row("web", "sleep 1\nfake\trow\x1b[1A")
	tb.flush()
	want := "NAME  COMMAND\nweb   sleep 1^Jfake^Irow^[[1A\n"
	if buf.String() != want {
		t.Errorf("table = %q; want %q", buf.String(), want)
	}
}

func TestStripWriter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[  \x1b[0;32mOK\x1b[0m  ] Started\r\n", "[  OK  ] Started\n"},
		{"\x1b]0;owned\x07title", "title"},
		{"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"\x1b(Bcharset \x1bMup", "charset up"},
		{"bell\a nul\x00 del\x7f", "bell^G nul^@ del^?"},
		{"c1 \u009b31m \u00e9", "c1 \uFFFD31m \u00e9"},
		{"\x1b[31\nbroken", "\nbroken"},
		{"\x1b]unterminated\nnext line", "\nnext line"},
		{"\x1b]" + strings.Repeat("x", maxStrip+10), strings.Repeat("x", 10)}, // swallowed up to the bound
		{"tab\tand ✓", "tab\tand ✓"},
	} {
		var out bytes.Buffer
		sw := newStripWriter(&out)
		sw.Write([]byte(tc.in))
		sw.Flush()
		if out.String() != tc.want {
			t.Errorf("strip(%q) = %q; want %q", tc.in, out.String(), tc.want)
		}
	}
}

// FuzzStripWriter: whatever a guest writes, in whatever pieces, nothing
// that can drive a terminal comes out, and the pieces do not matter.
func FuzzStripWriter(f *testing.F) {
	f.Add([]byte("\x1b[0;32mOK\x1b[0m\r\n"), uint8(3))
	f.Add([]byte("\x1b]0;title\x07\xc2\x9b\xc2"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		var whole, pieces bytes.Buffer
		sw := newStripWriter(&whole)
		sw.Write(in)
		sw.Flush()
		sp := newStripWriter(&pieces)
		step := int(cut)%7 + 1
		for i := 0; i < len(in); i += step {
			sp.Write(in[i:min(i+step, len(in))])
		}
		sp.Flush()
		if !bytes.Equal(whole.Bytes(), pieces.Bytes()) {
			t.Fatalf("in one write %q, in pieces of %d %q", whole.Bytes(), step, pieces.Bytes())
		}
		out := whole.Bytes()
		for i, c := range out {
			if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
				t.Fatalf("control byte %#x at %d in %q", c, i, out)
			}
		}
		for s := out; len(s) > 0; {
			r, n := utf8.DecodeRune(s)
			if n > 1 && r >= 0x80 && r <= 0x9f {
				t.Fatalf("C1 control %U in %q", r, out)
			}
			s = s[n:]
		}
	})
}
