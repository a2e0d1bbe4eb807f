package daemonctl

import (
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// A daemon that does not start leaves the last lines it logged in the
// CLI's error, so the user sees why without opening the log. The CLI
// prints errors through its sanitizer, which makes control characters in
// them visible rather than obeyed.
const (
	tailLines    = 15       // lines of the log shown
	tailReadMax  = 16 << 10 // bytes read from the end of the log, at most
	tailLineMax  = 300      // bytes kept of each line
	tailIndent   = "  "
	tailEllipsis = "…"
)

// logSize is the size of the log before a start, where the started
// daemon's lines begin; 0 when it cannot be read.
func logSize(f *os.File) int64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logTail returns the last tailLines lines written to path after offset
// from, each indented and cut to tailLineMax bytes, or "" when there are
// none.
func logTail(path string, from int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	size := logSize(f)
	if size < from { // the log was cut short meanwhile
		from = 0
	}
	start := max(from, size-tailReadMax)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
		return ""
	}
	text := string(buf)
	if start > from { // began mid-line
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	var b strings.Builder
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		b.WriteString(tailIndent + cutLine(l) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// cutLine keeps at most tailLineMax bytes of l, without splitting a rune.
func cutLine(l string) string {
	if len(l) <= tailLineMax {
		return l
	}
	cut := tailLineMax
	for cut > 0 && !utf8.RuneStart(l[cut]) {
		cut--
	}
	return l[:cut] + tailEllipsis
}
