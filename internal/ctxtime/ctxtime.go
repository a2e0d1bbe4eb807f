// Package ctxtime waits for a time unless a context ends first.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends; it reports whether ctx is still live
// (false: stop what you were waiting to do).
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
