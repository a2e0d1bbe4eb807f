// Package eventually waits in tests for a condition to hold, polling
// within a deadline instead of sleeping a fixed time.
package eventually

import (
	"testing"
	"time"
)

// Within is how long True waits.
const Within = 10 * time.Second

// True polls cond until it holds, failing t after Within.
func True(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", Within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
