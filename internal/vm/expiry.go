package vm

import (
	"context"
	"sync"
	"time"

	"banger/internal/errdefs"
)

// reaperMaxSleep bounds the reaper's sleep: the wall clock an expiry is
// written in can jump (a suspended laptop, a clock set right), which a
// timer does not see.
const reaperMaxSleep = time.Minute

// reaperRetry is how soon the reaper tries again a VM it failed to
// delete, or a store it failed to read.
const reaperRetry = 30 * time.Second

// reaper deletes the VMs whose expiry has passed. It sleeps until the
// next expiry the store holds, and wakes early when one is set.
type reaper struct {
	m      *Manager
	wake   chan struct{} // holds one wake-up at most
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards cancel
}

func newReaper(m *Manager) *reaper {
	return &reaper{m: m, wake: make(chan struct{}, 1)}
}

// start deletes the VMs that expired while no daemon ran, then keeps
// deleting them as they expire until stop or the manager's lifetime
// ends. A second start does nothing.
func (r *reaper) start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	next := r.sweep(ctx)
	loopCtx, cancel := context.WithCancel(r.m.base)
	r.cancel = cancel
	r.wg.Go(func() { r.loop(loopCtx, next) })
}

// stop ends the reaper and waits for it.
func (r *reaper) stop() {
	r.mu.Lock()
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// poke makes the reaper look at the store again: an expiry changed.
func (r *reaper) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reaper) loop(ctx context.Context, next time.Time) {
	for {
		wait := reaperMaxSleep
		if !next.IsZero() {
			wait = min(time.Until(next), reaperMaxSleep)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.wake:
			t.Stop()
		case <-t.C:
		}
		next = r.sweep(ctx)
	}
}

// sweep deletes the VMs whose expiry has passed and returns the next
// expiry to come, or zero for none.
func (r *reaper) sweep(ctx context.Context) time.Time {
	vms, err := r.m.store.ListVMs(ctx)
	if err != nil {
		r.m.log.Warn("listing VMs to delete the expired ones", "err", err)
		return time.Now().Add(reaperRetry)
	}
	var next time.Time
	for _, v := range vms {
		at := v.ExpiresAt
		if at.IsZero() {
			continue
		}
		if !at.After(time.Now()) {
			if r.expire(ctx, v.Name) {
				continue
			}
			at = time.Now().Add(reaperRetry)
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

// expire deletes VM name if its expiry has passed, and reports whether
// it is gone or no longer expired (its expiry moved meanwhile).
func (r *reaper) expire(ctx context.Context, name string) bool {
	m := r.m
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return errdefs.KindOf(err) == errdefs.KindNotFound
	}
	if v.ExpiresAt.IsZero() || v.ExpiresAt.After(time.Now()) {
		return true // moved meanwhile: its setter woke the reaper
	}
	m.log.Info("VM expired: deleting it", "vm", name, "expires_at", v.ExpiresAt, "state", v.State)
	if err := m.destroyVM(ctx, v); err != nil {
		m.log.Warn("deleting expired VM", "vm", name, "err", err)
		return false
	}
	return true
}
