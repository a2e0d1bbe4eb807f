package progress

import (
	"bytes"
	"io"
	"testing"
)

func TestReaderReportsBytes(t *testing.T) {
	var events []Event
	f := Func(func(e Event) { events = append(events, e) })
	data := bytes.Repeat([]byte("x"), 3*reportEvery+5)
	n, err := io.Copy(io.Discard, f.Reader(bytes.NewReader(data), "download", int64(len(data))))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("copy = %d, %v", n, err)
	}
	if len(events) == 0 {
		t.Fatal("no events")
	}
	last := events[len(events)-1]
	if last.Done != int64(len(data)) || last.Total != int64(len(data)) || last.Step != "download" {
		t.Fatalf("last event = %+v, want all %d bytes under download", last, len(data))
	}
	for i := 1; i < len(events); i++ {
		if events[i].Done <= events[i-1].Done {
			t.Fatalf("progress went backwards: %+v then %+v", events[i-1], events[i])
		}
	}
}

func TestNilFuncIsSafe(t *testing.T) {
	var f Func
	f.Step("x")
	f.Note("x", "y")
	r := bytes.NewReader([]byte("abc"))
	if f.Reader(r, "s", 3) != io.Reader(r) {
		t.Fatal("nil Func should return the reader unwrapped")
	}
}
