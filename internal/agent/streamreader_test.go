package agent

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
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
