package agent

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStreamReaderKeepsLinesForTheNextSession: a line read by a session
// that was ending goes to the next session on the stream, in order, with
// what was buffered after it.
func TestStreamReaderKeepsLinesForTheNextSession(t *testing.T) {
	sr := newStreamReader(strings.NewReader("{\"op\":\"hello\"}\n{\"op\":\"status\"}\n"))
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	out := make(chan item)
	if err := sr.readLines(ended, out); err != nil {
		t.Fatalf("readLines of an ended session = %v", err)
	}
	got := make(chan string, 2)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		for it := range out {
			got <- string(it.line)
		}
	}()
	err := sr.readLines(ctx, out)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("readLines at the end of the stream = %v, want EOF", err)
	}
	close(out)
	if a, b := <-got, <-got; a != `{"op":"hello"}` || b != `{"op":"status"}` {
		t.Fatalf("next session got %q then %q", a, b)
	}
}

// script is a reader that returns one chunk a read, nil standing for an
// end of stream, and then ends.
type script struct{ chunks []string }

func (s *script) Read(b []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	if c == "\x00" {
		return 0, io.EOF
	}
	return copy(b, c), nil
}

// TestSerialReaderHoldsEOFOnlyWhileMultiplexed: on a virtio-serial port
// an end of stream in the middle of a multiplexed connection, even in the
// middle of a line, loses nothing; once a hello makes the connection
// plain again, an end of stream ends it.
func TestSerialReaderHoldsEOFOnlyWhileMultiplexed(t *testing.T) {
	sr := newSerialReader(&script{[]string{
		`{"v":2,"id":1,"op":"hello","features":["streams"]}` + "\n",
		"\x00", `{"v":2,"id":2,"op":"fs-`, "\x00", "\x00", `stat"}` + "\n",
		`{"v":1,"id":3,"op":"hello"}` + "\n",
	}}, time.Millisecond)
	out := make(chan item)
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for it := range out {
			got = append(got, string(it.line))
		}
	}()
	err := sr.readLines(testCtx(t), out)
	close(out)
	<-done
	if !errors.Is(err, io.EOF) {
		t.Fatalf("readLines after the plain hello = %v; want the end of stream", err)
	}
	want := []string{`{"v":2,"id":1,"op":"hello","features":["streams"]}`, `{"v":2,"id":2,"op":"fs-stat"}`, `{"v":1,"id":3,"op":"hello"}`}
	if !slices.Equal(got, want) {
		t.Fatalf("lines = %q; want %q", got, want)
	}
}
