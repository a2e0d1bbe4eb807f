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
// answers like wait-ready, or, asked not to wait for sshd, with the
// guest's status as it is.
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
	if req.Identity.NoSSHWait {
		st := s.statusNoSSHWait()
		return success(req, agentproto.Response{Status: &st})
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

// identityStep is one step of identifyGuest.
type identityStep struct {
	name string
	run  func() error
}

// stepTimes collects what each identity step took, for identifyLog.
type stepTimes struct {
	mu    sync.Mutex
	lines []string
}

// timed runs st and records its time.
func (t *stepTimes) timed(st identityStep) error {
	began := time.Now()
	err := st.run()
	t.add(st.name, time.Since(began))
	return err
}

func (t *stepTimes) add(name string, d time.Duration) {
	t.mu.Lock()
	t.lines = append(t.lines, fmt.Sprintf("%s %v", name, d.Round(time.Millisecond)))
	t.mu.Unlock()
}

// write writes the times so far to identifyLog, for whoever wonders
// where a restore's time went.
func (t *stepTimes) write() {
	t.mu.Lock()
	b := []byte(strings.Join(t.lines, "\n") + "\n")
	t.mu.Unlock()
	_ = atomicfile.WriteFile(identifyLog, b, 0o644)
}

// identifyGuest is Options.Identify on a real guest. The clock and the
// entropy come first (the keys made later depend on them); the other
// steps do not depend on each other and wait on the disks, networkd and
// sshd, so they run together (sshd reads authorized_keys, on the work
// disk, only when a user logs in). Their files are synced once, at the
// end. What only makes a daemon catch up with them waits until after the
// answer when nothing in between needs it: sshd's reload with
// id.NoSSHWait, networkd's when it has the gateway and DNS already.
func identifyGuest(ctx context.Context, id agentproto.Identity) error {
	times := &stepTimes{}
	defer times.write()
	for _, st := range []identityStep{
		{"clock", func() error { return setClock(id.TimeUnixNano) }},
		{"entropy", func() error { return addEntropy(id.Entropy) }},
	} {
		if err := times.timed(st); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	later := &laterSteps{}
	steps := []identityStep{
		{"machine id", newMachineID},
		{"boot id", newBootID},
		{"hostname", func() error { return setHostname(id.Hostname) }},
		{"work disk", func() error { return mountWorkDisk(id.WorkDevice) }},
		{"network", func() error { return configureNetwork(ctx, id, later) }},
		{"ssh host key", func() error { return newSSHHostKey(ctx, id, later) }},
	}
	if err := runTogether(times, steps); err != nil {
		return err
	}
	if err := times.timed(identityStep{"sync", syncRoot}); err != nil {
		return fmt.Errorf("syncing the new identity to disk: %w", err)
	}
	later.start(times)
	return nil
}

// newSSHHostKey puts the new host key in place and, where sshd holds
// its host keys in memory, has it load the new one: before the answer,
// or after it with id.NoSSHWait.
func newSSHHostKey(ctx context.Context, id agentproto.Identity, later *laterSteps) error {
	hasSSHD, err := newHostKey(id)
	if err != nil || !hasSSHD || !sshdHoldsKeys(sshdSessionPaths) {
		return err
	}
	if !id.NoSSHWait {
		return reloadSSHD(ctx)
	}
	later.add(identityStep{"sshd reload", quietly(ctx, reloadSSHDQuietly)})
	return nil
}

// runTogether runs steps at once and joins their errors.
func runTogether(times *stepTimes, steps []identityStep) error {
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, st := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := times.timed(st); err != nil {
				errs[i] = fmt.Errorf("%s: %w", st.name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
