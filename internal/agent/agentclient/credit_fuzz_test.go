package agentclient

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"banger/internal/agent/agentproto"
)

// grantStream is the guest's end as the fuzzer sees it: it keeps the
// credit the host grants and whether it ended the channel.
type grantStream struct {
	mu      sync.Mutex
	granted int64
	ended   bool
}

func (s *grantStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range bytes.Lines(p) {
		var f agentproto.Frame
		if json.Unmarshal(l, &f) == nil {
			s.granted += f.Credit
			s.ended = s.ended || f.End
		}
	}
	return len(p), nil
}

func (s *grantStream) Read([]byte) (int, error)         { select {} }
func (s *grantStream) Close() error                     { return nil }
func (s *grantStream) SetReadDeadline(time.Time) error  { return nil }
func (s *grantStream) SetWriteDeadline(time.Time) error { return nil }

func (s *grantStream) credit() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.granted
}

// FuzzCredit plays random frames from the guest against a channel, and
// reads, with an honest guest's credit kept alongside: the host never
// queues more than it granted, never ends a channel that kept within its
// credit, always ends one that did not, and never panics.
func FuzzCredit(f *testing.F) {
	f.Add([]byte{0, 255, 0, 255, 2, 2, 0, 10, 3})
	f.Add([]byte{0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255})
	f.Add([]byte{1, 200, 4, 0, 1, 2, 2, 2, 5})
	f.Fuzz(func(t *testing.T, ops []byte) {
		s := &grantStream{}
		m := newMux(s, agentproto.Hello{}, 1, nil)
		ch := newChannel(m)
		ch.id = 7
		m.chans[7] = ch
		sent := int64(0) // data bytes the guest sent
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%6, int64(ops[i+1])
			honest := agentproto.InitialCredit + s.credit() - sent
			switch op {
			case 0, 1: // output, in sizes up to a chunk
				n := min(arg*arg+arg, agentproto.MaxChunk)
				fr := agentproto.Frame{Ch: 7}
				data := bytes.Repeat([]byte{'x'}, int(n))
				if op == 0 {
					fr.Out = data
				} else {
					fr.Err = data
				}
				wasOver := isOver(ch)
				ch.deliver(fr)
				sent += n
				if !wasOver && n > 0 && n <= honest && overrun(ch) {
					t.Fatalf("op %d: a frame of %d bytes within a credit of %d ended the channel", i/2, n, honest)
				}
				if !wasOver && n > honest && !overrun(ch) {
					t.Fatalf("op %d: a frame of %d bytes past a credit of %d was taken", i/2, n, honest)
				}
				if overrun(ch) {
					return
				}
			case 2: // the consumer reads what is there
				if q := queued(ch); q > 0 {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					if _, err := ch.Next(ctx); err != nil {
						t.Fatalf("Next with %d bytes queued: %v", q, err)
					}
					cancel()
				}
			case 3: // the guest grants input credit, any amount
				ch.deliver(agentproto.Frame{Ch: 7, Credit: arg << (arg % 64)})
			case 4: // a frame without data
				ch.deliver(agentproto.Frame{Ch: 7, Size: &agentproto.WindowSize{}})
			case 5: // the end
				ch.deliver(agentproto.Frame{Ch: 7, Exit: &agentproto.ExitStatus{Code: int(arg)}})
			}
			if q := queued(ch); q > agentproto.InitialCredit {
				t.Fatalf("op %d: %d bytes queued on a credit of %d", i/2, q, agentproto.InitialCredit)
			}
		}
	})
}

func isOver(ch *Channel) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.over
}

func overrun(ch *Channel) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.err != nil && strings.Contains(ch.err.Error(), "past its credit")
}

func queued(ch *Channel) int64 { return QueuedBytes(ch) }
