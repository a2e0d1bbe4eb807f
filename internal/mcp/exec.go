package mcp

import (
	"context"
	"fmt"
	"sync"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
)

// progressEvery is how often a running command reports progress.
var progressEvery = 5 * time.Second

// killGrace is how long a killed command has to report its end before
// its connection is hung up.
const killGrace = 5 * time.Second

// execResult is how a guest command ended and what it wrote.
type execResult struct {
	Code     int
	Signal   string
	Stdout   *clip
	Stderr   *clip
	TimedOut bool
	Elapsed  time.Duration
}

// execOutput is the shared state of a command's reader.
type execOutput struct {
	mu             sync.Mutex
	stdout, stderr *clip
}

func (o *execOutput) bytes() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stdout.total + o.stderr.total
}

// execLimits bound a guest command.
type execLimits struct {
	timeout time.Duration // it is killed after
	output  int           // bytes of each stream kept (see clip)
}

// execute runs req in VM vm through its guest agent, with no input,
// keeping what lim allows of its output. It kills the command once
// lim.timeout has passed, and when ctx ends. tick, when not nil, is
// called every progressEvery while the command runs.
func (s *Server) execute(ctx context.Context, vm string, req api.ExecRequest, lim execLimits, tick func(time.Duration, int64)) (execResult, error) {
	var p *client.ProcessConn
	err := s.call(ctx, func(c *client.Client) (err error) {
		// The connection outlives ctx long enough to kill the command.
		p, err = c.Exec(context.WithoutCancel(ctx), vm, req)
		return err
	})
	if err != nil {
		return execResult{}, err
	}
	defer p.Close()
	p.CloseStdin()
	start := time.Now()
	out := &execOutput{stdout: newClip(lim.output), stderr: newClip(lim.output)}
	done := make(chan execEnd, 1)
	go func() { done <- readProcess(p, out) }()
	end, timedOut, err := waitProcess(ctx, p, done, lim.timeout, func() {
		if tick != nil {
			tick(time.Since(start), out.bytes())
		}
	})
	res := execResult{Stdout: out.stdout, Stderr: out.stderr, TimedOut: timedOut, Elapsed: time.Since(start)}
	if err != nil {
		return res, err
	}
	if end.exit != nil {
		res.Code, res.Signal = end.exit.Code, end.exit.Signal
	}
	return res, end.err
}

// execEnd is how reading a command's frames ended.
type execEnd struct {
	exit *api.ExitStatus
	err  error
}

// readProcess reads a command's output into out until it exits.
func readProcess(p *client.ProcessConn, out *execOutput) execEnd {
	for {
		o, err := p.Next()
		if err != nil {
			return execEnd{err: err}
		}
		out.mu.Lock()
		out.stdout.Write(o.Stdout)
		out.stderr.Write(o.Stderr)
		out.mu.Unlock()
		if o.Exit != nil {
			return execEnd{exit: o.Exit}
		}
	}
}

// waitProcess waits for a command's end, calling tick every
// progressEvery. Past timeout it kills the command and reports timedOut;
// when ctx ends it kills it and returns ctx's error.
func waitProcess(ctx context.Context, p *client.ProcessConn, done <-chan execEnd, timeout time.Duration, tick func()) (execEnd, bool, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	ticker := time.NewTicker(progressEvery)
	defer ticker.Stop()
	for {
		select {
		case end := <-done:
			return end, false, nil
		case <-ticker.C:
			tick()
		case <-timer.C:
			return killProcess(p, done), true, nil
		case <-ctx.Done():
			killProcess(p, done)
			return execEnd{}, false, fmt.Errorf("the call was cancelled, so the command was killed: %w", ctx.Err())
		}
	}
}

// killProcess kills a command's process group and waits a little for
// its end; the caller then hangs up.
func killProcess(p *client.ProcessConn, done <-chan execEnd) execEnd {
	p.Signal("KILL")
	select {
	case end := <-done:
		return end
	case <-time.After(killGrace):
		p.Close()
		return execEnd{}
	}
}
