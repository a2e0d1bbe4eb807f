package consolelog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// A guest writing its console without end leaves a bounded log whose end
// is intact.
func TestRotateBoundsTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	vmm, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vmm.Close()
	const limit, burst = 64 << 10, 16 << 10
	line := strings.Repeat("x", 99) + "\n"
	written := 0
	for i := 0; written < 50*limit; i++ {
		// The VMM writes a burst between two of bangerd's checks.
		for n := 0; n < burst; n += len(line) {
			fmt.Fprintf(vmm, "%08d%s", i, line[8:])
			written += len(line)
		}
		if _, err := Rotate(path, limit); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, Rotated(path)} {
			if st, err := os.Stat(p); err == nil && st.Size() > limit+burst {
				t.Fatalf("after %d bytes written, %s holds %d bytes; want at most %d", written, filepath.Base(p), st.Size(), limit+burst)
			}
		}
	}
	fmt.Fprintf(vmm, "the last line\n")
	tail, err := TailFile(path, 2, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(tail), "xx\nthe last line") || bytes.Count(tail, []byte("\n")) != 1 {
		t.Errorf("tail after rotations = %q", tail)
	}
}

// A log that grew with nothing rotating it (bangerd was down) keeps only
// its end, saying how much went.
func TestRotateKeepsTheEndOfAHugeLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 30) // sparse: a gibibyte of nothing
	fmt.Fprint(f, "the end\n")
	f.Close()
	if ok, err := Rotate(path, 64<<10); !ok || err != nil {
		t.Fatalf("Rotate = %v, %v", ok, err)
	}
	b, err := os.ReadFile(Rotated(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 65<<10 || !strings.HasPrefix(string(b), "[banger: ") || !strings.HasSuffix(string(b), "\x00the end\n") {
		t.Errorf("rotated log: %d bytes, %q...%q", len(b), b[:min(len(b), 60)], b[max(0, len(b)-20):])
	}
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Errorf("log after rotation holds %d bytes", st.Size())
	}
}

type countingReader struct {
	r    io.ReaderAt
	read atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.read.Add(int64(n))
	return n, err
}

// The tail of a huge log is read from its end, not through it.
func TestTailReadsOnlyTheEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const huge = 10 << 30
	if err := f.Truncate(huge); err != nil {
		t.Fatal(err)
	}
	var end strings.Builder
	for i := range 20 {
		fmt.Fprintf(&end, "line %d\n", i)
	}
	if _, err := f.WriteAt([]byte(end.String()), huge); err != nil {
		t.Fatal(err)
	}
	cr := &countingReader{r: f}
	got, err := Tail(cr, huge+int64(end.Len()), 3, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "line 17\nline 18\nline 19" {
		t.Errorf("Tail = %q; want the last 3 lines", got)
	}
	if n := cr.read.Load(); n > 2*tailBlock {
		t.Errorf("Tail read %d bytes of a %d byte log; want at most %d", n, huge, 2*tailBlock)
	}
	// Lines longer than the limit: the tail stops at the limit.
	cr = &countingReader{r: f}
	if got, _ := Tail(cr, huge, 3, 64<<10); len(got) != 64<<10 || cr.read.Load() > 65<<10 {
		t.Errorf("Tail of a log without newlines = %d bytes, having read %d", len(got), cr.read.Load())
	}
}

func TestTailOfShortLogs(t *testing.T) {
	for _, tc := range []struct {
		log  string
		n    int
		want string
	}{
		{"", 3, ""},
		{"one\n", 3, "one"},
		{"one\ntwo", 1, "two"},
		{"one\ntwo\n", 1, "two"},
		{"one\ntwo\nthree\n", 2, "two\nthree"},
		{"\n\n", 5, "\n"},
	} {
		got, err := Tail(strings.NewReader(tc.log), int64(len(tc.log)), tc.n, 1<<20)
		if err != nil || string(got) != tc.want {
			t.Errorf("Tail(%q, %d) = %q, %v; want %q", tc.log, tc.n, got, err, tc.want)
		}
	}
}

// A follower reads everything across a rotation, and notices a new boot.
func TestFollowerAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	vmm, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vmm.Close()
	fl, err := Follow(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	var got, want bytes.Buffer
	write := func(s string) {
		fmt.Fprint(vmm, s)
		want.WriteString(s)
	}
	// readAll reads what is new, starting got over when the log does.
	readAll := func() (restarted bool) {
		buf := make([]byte, 100)
		for {
			n, again, err := fl.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if again {
				restarted = true
				got.Reset()
			}
			if n == 0 {
				return restarted
			}
			got.Write(buf[:n])
		}
	}
	write(strings.Repeat("a", 300))
	readAll()
	write(strings.Repeat("b", 700))
	if ok, _ := Rotate(path, 512); !ok {
		t.Fatal("no rotation past the limit")
	}
	write(strings.Repeat("c", 200))
	if readAll() {
		t.Fatal("a rotation read as a new boot")
	}
	if got.String() != want.String() {
		t.Fatalf("followed %d bytes across a rotation, %q...; want %d", got.Len(), got.String()[:min(got.Len(), 40)], want.Len())
	}
	// Rotated again, and written past where the follower was before it
	// looks: the size alone would not show the rotation.
	write(strings.Repeat("d", 400))
	if ok, _ := Rotate(path, 512); !ok {
		t.Fatal("no rotation past the limit")
	}
	write(strings.Repeat("e", 300))
	if readAll() || got.String() != want.String() {
		t.Fatalf("followed %d bytes across a second rotation; want %d", got.Len(), want.Len())
	}

	// The VM boots again: the log starts over.
	vmm.Close()
	if vmm, err = Create(path); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(vmm, "boot 2\n")
	if !readAll() {
		t.Fatal("a new boot was not reported")
	}
	if got.String() != "boot 2\n" {
		t.Errorf("after the new boot read %q", got.String())
	}
}
