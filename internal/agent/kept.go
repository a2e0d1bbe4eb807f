package agent

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"banger/internal/agent/agentproto"
)

// keptTable holds the processes execs asked to keep (ExecSpec.Keep): they
// outlive their channel, and a host attaches to them again by pid.
type keptTable struct {
	max int // bytes of each output stream kept while nobody is attached

	mu    sync.Mutex
	byPID map[int]*kept
}

// kept is one kept process: its output waits in bounded queues for the
// channel attached to it, and its exit status until a host collects it.
type kept struct {
	proc    *process
	info    agentproto.ProcessInfo // what does not change
	max     int
	started time.Time

	mu      sync.Mutex
	out     outQueue
	err     outQueue
	att     *channel      // the channel following the process, or nil
	ended   bool          // the process exited and its output is all in
	changed chan struct{} // closed and replaced when anything above changes
}

// outQueue is one output stream's bytes not yet sent to a host.
type outQueue struct {
	data    []byte
	dropped int64 // bytes dropped from the front since the last send
}

// add starts keeping p, which spec started.
func (t *keptTable) add(p *process, spec agentproto.ExecSpec) *kept {
	k := &kept{
		proc: p, max: t.max, started: time.Now().UTC(), changed: make(chan struct{}),
		info: agentproto.ProcessInfo{PID: p.pid(), Argv: p.argv, Dir: workDir(spec.Dir), TTY: p.tty != nil, Tag: spec.Tag},
	}
	k.info.Started = k.started
	var outputs sync.WaitGroup
	outputs.Go(func() { copyOutput(p.stdout, func(b []byte) { k.put(b, false) }) })
	if p.stderr != nil {
		outputs.Go(func() { copyOutput(p.stderr, func(b []byte) { k.put(b, true) }) })
	}
	go func() {
		<-p.exited
		outputs.Wait()
		p.close()
		k.mu.Lock()
		k.ended = true
		k.wake()
		k.mu.Unlock()
		t.prune()
	}()
	t.mu.Lock()
	t.byPID[k.info.PID] = k
	t.mu.Unlock()
	return k
}

func (k *kept) wake() {
	close(k.changed)
	k.changed = make(chan struct{})
}

// put queues output. While a channel is attached and the queue is full it
// waits, holding the process up as a plain exec's slow host does; with
// nobody attached the oldest bytes make room.
func (k *kept) put(b []byte, stderr bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	q := k.queue(stderr)
	for k.att != nil && len(q.data) > 0 && len(q.data)+len(b) > k.max {
		wait := k.changed
		k.mu.Unlock()
		<-wait
		k.mu.Lock()
	}
	q.data = append(q.data, b...)
	if over := len(q.data) - k.max; over > 0 && k.att == nil {
		q.data = q.data[over:]
		q.dropped += int64(over)
	}
	k.wake()
}

func (k *kept) queue(stderr bool) *outQueue {
	if stderr {
		return &k.err
	}
	return &k.out
}

// next takes the next chunk to send, standard output first; a note of
// dropped bytes comes before what followed them. Called with k.mu held.
func (k *kept) next() (b []byte, stderr bool) {
	for _, stderr := range []bool{false, true} {
		q := k.queue(stderr)
		if q.dropped > 0 {
			note := fmt.Sprintf("[banger: %d bytes of output were dropped while no host was attached]\n", q.dropped)
			if k.info.TTY {
				note = "\r\n" + note[:len(note)-1] + "\r\n"
			}
			q.dropped = 0
			return []byte(note), stderr
		}
		if len(q.data) > 0 {
			n := min(len(q.data), agentproto.MaxChunk)
			b = slices.Clone(q.data[:n])
			q.data = q.data[n:]
			k.wake() // a put waiting for room may go on
			return b, stderr
		}
	}
	return nil, false
}

// unread puts back what could not be sent, ahead of the rest.
func (k *kept) unread(b []byte, stderr bool) {
	if len(b) == 0 {
		return
	}
	k.mu.Lock()
	q := k.queue(stderr)
	q.data = append(slices.Clone(b), q.data...)
	k.wake()
	k.mu.Unlock()
}

// attach makes ch the channel that follows k; the one before, if any,
// sees it is no longer and ends.
func (k *kept) attach(ch *channel) {
	k.mu.Lock()
	k.att = ch
	k.wake()
	k.mu.Unlock()
}

// detach leaves k without a channel, if ch still follows it.
func (k *kept) detach(ch *channel) {
	k.mu.Lock()
	if k.att == ch {
		k.att = nil
		k.wake()
	}
	k.mu.Unlock()
}

func (k *kept) running() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.ended
}

func (k *kept) describe() agentproto.ProcessInfo {
	k.mu.Lock()
	defer k.mu.Unlock()
	info := k.info
	info.Running, info.Attached = !k.ended, k.att != nil
	if k.ended {
		st := k.proc.status
		info.Exit = &st
	}
	return info
}

// get is the kept process pid.
func (t *keptTable) get(pid int) (*kept, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if k := t.byPID[pid]; k != nil {
		return k, nil
	}
	return nil, &agentproto.Error{Code: agentproto.CodeNotFound, Msg: fmt.Sprintf("no kept process %d in this guest: it was never kept, or its exit was collected", pid)}
}

// collect forgets k once a host has its exit status.
func (t *keptTable) collect(k *kept) {
	t.mu.Lock()
	if t.byPID[k.info.PID] == k {
		delete(t.byPID, k.info.PID)
	}
	t.mu.Unlock()
}

// restore keeps k again after an exit status that did not reach the host,
// unless a new process has its pid.
func (t *keptTable) restore(k *kept) {
	t.mu.Lock()
	if t.byPID[k.info.PID] == nil {
		t.byPID[k.info.PID] = k
	}
	t.mu.Unlock()
}

// list describes the kept processes, oldest first.
func (t *keptTable) list() []agentproto.ProcessInfo {
	return describeOldestFirst(&t.mu, t.byPID, func(k *kept) time.Time { return k.started }, (*kept).describe)
}

// prune forgets the oldest ended processes beyond keptEnded.
func (t *keptTable) prune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	pruneEnded(t.byPID, func(k *kept) time.Time { return k.started })
}
