package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/atomicfile"
)

// identifyOnce guards identify: a guest takes one identity per boot, or
// per snapshot it was saved in (prepareSnapshot re-arms it).
type identifyOnce struct {
	mu   sync.Mutex
	done bool
}

// identify gives a guest restored from a template its own identity, then
// answers like wait-ready.
func (s *Server) identify(ctx context.Context, req agentproto.Request) agentproto.Response {
	if req.Identity == nil {
		return failure(req, agentproto.CodeBadRequest, "identify without an identity")
	}
	if s.opts.Identify == nil {
		return failure(req, agentproto.CodeFailed, "this agent cannot change the guest's identity")
	}
	s.once.mu.Lock()
	if s.once.done {
		s.once.mu.Unlock()
		return failure(req, agentproto.CodeFailed, "this guest already took an identity since it booted")
	}
	s.once.done = true
	s.once.mu.Unlock()
	if err := s.opts.Identify(ctx, *req.Identity); err != nil {
		s.log.Error("identify", "err", err)
		return failure(req, agentproto.CodeFailed, "taking the new identity: "+err.Error())
	}
	return s.waitReady(ctx, req)
}

// prepareSnapshot readies a running guest to be saved: its disks are
// flushed, so the copies the host makes next hold what the guest wrote, and
// the guest may take a new identity once, which is what each VM restored
// from the snapshot does.
func (s *Server) prepareSnapshot(req agentproto.Request) agentproto.Response {
	if s.opts.Sync != nil {
		s.opts.Sync()
	}
	s.once.mu.Lock()
	s.once.done = false
	s.once.mu.Unlock()
	return success(req, agentproto.Response{})
}

// identifyLog records how long each identity step took.
const identifyLog = "/run/banger/identify.log"

// identifyGuest is Options.Identify on a real guest. The order matters:
// the clock and the entropy first (the keys made later depend on them),
// the work disk before sshd restarts (authorized_keys lives there).
func identifyGuest(ctx context.Context, id agentproto.Identity) error {
	type step struct {
		name string
		run  func() error
	}
	first := []step{
		{"clock", func() error { return setClock(id.TimeUnixNano) }},
		{"entropy", func() error { return addEntropy(id.Entropy) }},
		{"machine id", newMachineID},
		{"boot id", newBootID},
		{"hostname", func() error { return setHostname(id.Hostname) }},
	}
	var timesMu sync.Mutex
	var times []string
	timed := func(st step) error {
		began := time.Now()
		err := st.run()
		timesMu.Lock()
		times = append(times, fmt.Sprintf("%s %v", st.name, time.Since(began).Round(time.Millisecond)))
		timesMu.Unlock()
		return err
	}
	// What each step took, for whoever wonders where a restore's time went.
	defer func() { _ = atomicfile.WriteFile(identifyLog, []byte(strings.Join(times, "\n")+"\n"), 0o644) }()
	for _, st := range first {
		if err := timed(st); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	// These wait on other programs (networkd, sshd, the disk) and do not
	// depend on each other: run together, they cost the slowest one.
	then := []step{
		{"work disk", func() error { return mountWorkDisk(id.WorkDevice) }},
		{"network", func() error { return configureNetwork(ctx, id) }},
		{"ssh host key", func() error { return newHostKey(ctx) }},
	}
	errs := make([]error, len(then))
	var wg sync.WaitGroup
	for i, st := range then {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := timed(st); err != nil {
				errs[i] = fmt.Errorf("%s: %w", st.name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
