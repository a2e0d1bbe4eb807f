package doctor

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunIsParallelAndOrdered(t *testing.T) {
	const n = 8
	started := make(chan struct{}, n)
	all := make(chan struct{})
	checks := make([]Check, n)
	for i := range checks {
		name := string(rune('a' + i))
		checks[i] = Check{Name: name, Run: func(ctx context.Context) Result {
			started <- struct{}{}
			select {
			case <-all:
				return Result{Status: Pass, Summary: "done " + name}
			case <-ctx.Done():
				return Result{Status: Fail, Summary: "not parallel"}
			}
		}}
	}
	go func() {
		for range n {
			<-started
		}
		close(all)
	}()
	results := Run(context.Background(), checks)
	for i, r := range results {
		if r.Name != checks[i].Name || r.Summary != "done "+checks[i].Name {
			t.Fatalf("result %d = %+v, want check %s done", i, r, checks[i].Name)
		}
	}
}

func TestRunTimeoutFails(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hung := Check{Name: "hung", Run: func(context.Context) Result {
		<-release // ignores ctx, like a stuck probe
		return Result{Status: Pass}
	}}
	ok := Check{Name: "ok", Run: func(context.Context) Result { return Result{Status: Pass, Summary: "fine"} }}
	results := run(context.Background(), []Check{hung, ok}, 10*time.Millisecond)
	if r := results[0]; r.Name != "hung" || r.Status != Fail || !strings.Contains(r.Summary, "timed out after 10ms") || r.Fix == "" {
		t.Fatalf("hung check: %+v", r)
	}
	if r := results[1]; r.Status != Pass {
		t.Fatalf("ok check: %+v", r)
	}
}

func TestRunPanicFails(t *testing.T) {
	boom := Check{Name: "boom", Run: func(context.Context) Result { panic("kaboom") }}
	results := Run(context.Background(), []Check{boom})
	if r := results[0]; r.Name != "boom" || r.Status != Fail || !strings.Contains(r.Summary, "kaboom") {
		t.Fatalf("panicking check: %+v", r)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wait := Check{Name: "wait", Run: func(ctx context.Context) Result {
		<-ctx.Done()
		return Result{Status: Fail, Summary: "cancelled", Fix: "rerun"}
	}}
	if r := Run(ctx, []Check{wait})[0]; r.Status != Fail {
		t.Fatalf("cancelled check: %+v", r)
	}
}

func TestFailed(t *testing.T) {
	if Failed([]Result{{Status: Pass}, {Status: Warn}}) {
		t.Fatal("Failed without a Fail")
	}
	if !Failed([]Result{{Status: Pass}, {Status: Fail}}) {
		t.Fatal("not Failed with a Fail")
	}
}
