package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestByteBarLine(t *testing.T) {
	for _, tt := range []struct {
		label       string
		total, done int64
		elapsed     time.Duration
		want        string
	}{
		{"copying", 200 << 20, 84 << 20, 7 * time.Second, "copying  42% [==========              ] 84.0 MiB/200.0 MiB 12.0 MiB/s 10s left"},
		{"", 100 << 20, 100 << 20, 2 * time.Second, "100% [========================] 100.0 MiB/100.0 MiB 50.0 MiB/s"},
		{"", 100 << 20, 0, 0, "  0% [                        ] 0 B/100.0 MiB"},
		{"copying", -1, 3 << 30, 3 * time.Second, "copying 3.0 GiB 1.0 GiB/s"},
		{"", 10, 20, time.Second, "100% [========================] 20 B/10 B 20 B/s"},
	} {
		b := &byteBar{label: tt.label, total: tt.total, done: tt.done}
		got := b.line(tt.elapsed)
		if got != tt.want {
			t.Errorf("line = %q, want %q", got, tt.want)
		}
		if len(got) >= 80 {
			t.Errorf("line %q is %d columns, more than a terminal's 80", got, len(got))
		}
	}
}

// A bar redraws at most every barEvery, except to show the end.
func TestByteBarThrottles(t *testing.T) {
	var out bytes.Buffer
	b := newByteBar(&out, "copying", 100)
	now := b.start
	b.now = func() time.Time { return now }
	draws := func() int { return strings.Count(out.String(), "\r") }
	for i := int64(1); i < 50; i++ {
		b.set(i)
		now = now.Add(barEvery / 10)
	}
	if n := draws(); n != 5 {
		t.Errorf("49 updates over 4.9 barEvery drew %d times, want 5:\n%q", n, out.String())
	}
	b.set(100)
	if n := draws(); n != 6 || !strings.HasSuffix(out.String(), "] 100 B/100 B 204 B/s") {
		t.Errorf("the end was not drawn at once: %q", out.String())
	}
}
