package doctor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// CheckTimeout bounds each check run by Run; a check still busy after it is
// reported as a Fail.
const CheckTimeout = 5 * time.Second

// Run runs all checks in parallel and returns their results in the checks'
// order. A check that panics or outlives CheckTimeout becomes a Fail; Run
// itself never panics because of a check.
func Run(ctx context.Context, checks []Check) []Result {
	return run(ctx, checks, CheckTimeout)
}

func run(ctx context.Context, checks []Check, timeout time.Duration) []Result {
	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { results[i] = runOne(ctx, c, timeout) })
	}
	wg.Wait()
	return results
}

// runOne runs c in its own goroutine so that a check ignoring ctx cannot hold
// up the report; such a goroutine finishes in the background.
func runOne(ctx context.Context, c Check, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan Result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- Result{Status: Fail, Summary: fmt.Sprintf("check panicked: %v", p),
					Fix: "this is a bug in banger; please report it with this output"}
			}
		}()
		done <- c.Run(ctx)
	}()
	var r Result
	select {
	case r = <-done:
	case <-ctx.Done():
		r = interrupted(ctx, timeout)
	}
	if r.Name == "" {
		r.Name = c.Name
	}
	return r
}

func interrupted(ctx context.Context, timeout time.Duration) Result {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return Result{Status: Fail, Summary: fmt.Sprintf("timed out after %s", timeout),
			Fix: "something this check probes is hanging; rerun banger doctor, and if it recurs check that tool by hand"}
	}
	return Result{Status: Fail, Summary: "interrupted: " + context.Cause(ctx).Error(), Fix: "rerun banger doctor"}
}
