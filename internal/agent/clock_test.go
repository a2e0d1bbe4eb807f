package agent

import (
	"errors"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/errdefs"
)

// TestSetClockSetsOnlyTheClock: a resumed guest is told the time, as often
// as the host likes, without taking an identity.
func TestSetClockSetsOnlyTheClock(t *testing.T) {
	g := newGuest(t)
	var set []time.Time
	g.opts.SetClock = func(at time.Time) error { set = append(set, at); return nil }
	g.opts.Identify = nil // a set-clock must not need it
	host, _ := pipeHost(t, g.opts)
	c := agentclient.NewConn(host)
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for range 2 {
		if err := c.SetClock(testCtx(t), at); err != nil {
			t.Fatalf("SetClock = %v", err)
		}
	}
	if len(set) != 2 || !set[0].Equal(at) {
		t.Fatalf("clock set to %v; want %v twice", set, at)
	}
}

func TestSetClockFailures(t *testing.T) {
	g := newGuest(t)
	g.opts.SetClock = func(time.Time) error { return errors.New("EPERM") }
	host, _ := pipeHost(t, g.opts)
	c := agentclient.NewConn(host)
	if err := c.SetClock(testCtx(t), time.Now()); err == nil || !strings.Contains(err.Error(), "EPERM") {
		t.Fatalf("SetClock = %v; want the guest's failure", err)
	}
	if err := c.SetClock(testCtx(t), time.Unix(0, 0)); err == nil || !strings.Contains(err.Error(), "without a time") {
		t.Fatalf("SetClock(epoch) = %v; want a bad request", err)
	}
	g.opts.SetClock = nil
	host, _ = pipeHost(t, g.opts)
	if err := agentclient.NewConn(host).SetClock(testCtx(t), time.Now()); err == nil || errdefs.KindOf(err) == errdefs.KindFailedPrecondition {
		t.Fatalf("SetClock without a hook = %v; want a plain failure", err)
	}
}
