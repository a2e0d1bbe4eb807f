package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
	"unicode/utf8"

	"banger/internal/errdefs"
	"banger/internal/vmm/consolelog"
)

// Console streaming: server-sent events that follow the VM's console log.
// Events: "reset" (clear what is shown; the log starts over, as it does
// when the VM boots again), "append" (data: a JSON string of new output)
// and "note" (data: a JSON string saying why nothing shows).
const (
	consolePoll = 500 * time.Millisecond
	// consoleBacklog is how much of an existing log a new viewer gets.
	consoleBacklog = 256 << 10
	consoleChunk   = 32 << 10
)

func (s *Server) console(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctx := r.Context()
	if _, err := s.b.ConsoleLog(ctx, name); err != nil {
		s.failErr(w, r, err)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	t := &tail{w: w}
	defer t.close()
	for {
		if err := t.step(s, r, name); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				t.send("note", "the VM is gone")
				flusher.Flush()
			}
			return
		}
		flusher.Flush()
		select {
		case <-ctx.Done():
			return
		case <-time.After(consolePoll):
		}
	}
}

// tail follows one VM's console log for one viewer.
type tail struct {
	w       io.Writer
	path    string
	fl      *consolelog.Follower
	noted   bool
	started bool
	partial []byte // an incomplete UTF-8 sequence held for the next read
}

func (t *tail) close() {
	if t.fl != nil {
		t.fl.Close()
	}
}

// step sends what the log gained since the last step.
func (t *tail) step(s *Server, r *http.Request, name string) error {
	path, err := s.b.ConsoleLog(r.Context(), name)
	if err != nil {
		return err
	}
	if path != t.path || !t.started {
		// A new viewer, or a VM deleted and made again under the name.
		t.close()
		*t = tail{w: t.w, path: path, started: true}
		if err := t.send("reset", ""); err != nil {
			return err
		}
	}
	if t.fl == nil {
		fl, err := consolelog.Follow(path, consoleBacklog)
		if errors.Is(err, os.ErrNotExist) {
			if !t.noted {
				t.noted = true
				return t.send("note", "no console output yet: the VM has not booted")
			}
			return nil
		} else if err != nil {
			return err
		}
		t.fl = fl
		if fl.Skipped() > 0 {
			if err := t.send("note", fmt.Sprintf("showing the last %s; `banger vm logs %s` has more", bytesString(consoleBacklog), name)); err != nil {
				return err
			}
		}
	}
	return t.copy()
}

// copy sends what the log gained, in chunks; a log that started over (the
// VM booted again) is a reset. Rotations go unnoticed: the follower reads
// on in the rotated file.
func (t *tail) copy() error {
	buf := make([]byte, consoleChunk)
	for {
		n, restarted, err := t.fl.Read(buf)
		if err != nil {
			return err
		}
		if restarted {
			t.partial = nil
			if err := t.send("reset", ""); err != nil {
				return err
			}
		}
		if n == 0 {
			return nil
		}
		text := append(t.partial, buf[:n]...)
		text, t.partial = splitUTF8(text)
		if len(text) > 0 {
			if err := t.send("append", string(text)); err != nil {
				return err
			}
		}
	}
}

// send writes one event whose data is s as a JSON string.
func (t *tail) send(event, s string) error {
	data, _ := json.Marshal(s)
	_, err := fmt.Fprintf(t.w, "event: %s\ndata: %s\n\n", event, data)
	return err
}

// splitUTF8 splits b before a trailing incomplete UTF-8 sequence, so a
// character cut by a read is sent whole with the next one. Other invalid
// bytes stay: JSON encoding turns them into U+FFFD.
func splitUTF8(b []byte) (whole, rest []byte) {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i], append([]byte(nil), b[i:]...)
			}
			break
		}
	}
	return b, nil
}
