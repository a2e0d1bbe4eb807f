package agentclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"banger/internal/agent/agentproto"
)

// Watch is a watch on a guest directory; see WatchDir.
type Watch struct {
	ch     *Channel
	events chan agentproto.FSEvent
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	err    error
	closed bool
}

// WatchDir watches the directory path in the guest, and with recursive the
// directories below it, those made later included. Its events come until
// Close, until ctx ends or until the guest ends the watch (the directory
// went away, or the watch fell so far behind that the guest lost events);
// Err then says why. Names are relative to path. A directory made while
// the watch runs has its contents reported as created, some perhaps twice.
func (m *Mux) WatchDir(ctx context.Context, path string, recursive bool) (*Watch, error) {
	ch, _, err := openFS(ctx, m, agentproto.Request{Op: agentproto.OpFSWatch, Path: path, Recursive: recursive})
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &Watch{ch: ch, events: make(chan agentproto.FSEvent, 16), cancel: cancel, done: make(chan struct{})}
	go w.pump(wctx, path)
	return w, nil
}

// Events delivers the watch's events; it is closed when the watch ends.
// The guest sends no faster than they are taken from it.
func (w *Watch) Events() <-chan agentproto.FSEvent { return w.events }

// Err is why the watch ended: nil while it lasts and after Close; once
// Events is closed, the error that ended it, of kind not found when the
// directory went away.
func (w *Watch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close ends the watch and waits until Events is closed.
func (w *Watch) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.ch.Close()
	<-w.done
	return nil
}

// pump decodes the channel's JSON lines into events.
func (w *Watch) pump(ctx context.Context, path string) {
	defer close(w.done)
	defer close(w.events)
	defer w.cancel()
	br := bufio.NewReader(&channelReader{ctx: ctx, ch: w.ch, what: "watching " + path})
	for {
		line, err := agentproto.ReadLine(br)
		if errors.Is(err, agentproto.ErrLineTooLong) {
			continue
		}
		if err != nil {
			w.end(err)
			return
		}
		var ev agentproto.FSEvent
		if json.Unmarshal(line, &ev) != nil || ev.Name == "" {
			continue // noise from a broken guest
		}
		select {
		case w.events <- ev:
		case <-ctx.Done():
			w.end(ctx.Err())
			return
		}
	}
}

// end records why the watch ended, unless Close ended it.
func (w *Watch) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || errors.Is(err, io.EOF) {
		return
	}
	w.err = err
	w.ch.Close()
}
