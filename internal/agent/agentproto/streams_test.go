package agentproto

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCreditWaitsForGrants(t *testing.T) {
	c := NewCredit()
	if n, err := c.Take(context.Background(), InitialCredit+1); err != nil || n != InitialCredit {
		t.Fatalf("Take of more than the initial credit = %d, %v", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Take(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Take with no credit left = %v; want it to wait until ctx ends", err)
	}
	go c.Add(10)
	if n, err := c.Take(context.Background(), 100); err != nil || n != 10 {
		t.Fatalf("Take after a grant of 10 = %d, %v", n, err)
	}
	go c.Close()
	if _, err := c.Take(context.Background(), 1); !errors.Is(err, ErrChannelClosed) {
		t.Fatalf("Take on a closed credit = %v", err)
	}
}

func TestGrantsComeInBatches(t *testing.T) {
	var g Grants
	if n := g.Consumed(InitialCredit/2 - 1); n != 0 {
		t.Fatalf("grant before half the credit = %d", n)
	}
	if n := g.Consumed(2); n != InitialCredit/2+1 {
		t.Fatalf("grant at half the credit = %d", n)
	}
	if n := g.Consumed(1); n != 0 {
		t.Fatalf("grant right after one = %d", n)
	}
}

func TestFrameOnTheWire(t *testing.T) {
	b, err := MarshalLine(Frame{Ch: 7, Out: []byte("hi\n"), Credit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"ch":7,"out":"aGkK","credit":5}`+"\n" {
		t.Errorf("frame = %s", b)
	}
	// A full chunk stays within a line.
	b, _ = MarshalLine(Frame{Ch: 1 << 52, Err: make([]byte, MaxChunk), Credit: InitialCredit})
	if len(b) > MaxLine {
		t.Errorf("a frame of MaxChunk bytes is %d bytes long; MaxLine is %d", len(b), MaxLine)
	}
	var f Frame
	if err := json.Unmarshal([]byte(`{"ch":3,"exit":{"code":0,"signal":15}}`), &f); err != nil || f.Exit.Status() != 143 || f.Exit.String() != "killed by SIGTERM" {
		t.Errorf("exit frame = %+v, %v", f.Exit, err)
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{"TERM": unix.SIGTERM, "sigint": unix.SIGINT, "KILL": unix.SIGKILL, "1": unix.SIGHUP} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "NOPE", "0", "99"} {
		if _, err := ParseSignal(bad); ErrorCode(err) != CodeBadRequest {
			t.Errorf("ParseSignal(%q) = %v; want bad-request", bad, err)
		}
	}
}

func TestValidateSessionName(t *testing.T) {
	for _, ok := range []string{"a", "web-1", "Build.log_2", "9lives"} {
		if err := ValidateSessionName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", ".hidden", "a/b", "../etc", "sp ace", string(make([]byte, 64))} {
		if err := ValidateSessionName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
