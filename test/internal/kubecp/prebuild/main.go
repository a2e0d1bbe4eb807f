// Command prebuild builds the tests' Kubernetes control plane into the
// test cache ($BANGER_TEST_CACHE/kube), or finds it there. CI starts it
// before the tests, so the cold build (tens of minutes on two cores)
// runs beside them instead of inside the first test that needs it; that
// test waits for it under the cache's lock.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"banger/test/internal/kubecp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	dir, err := kubecp.Prebuild(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prebuild:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "prebuild: the control plane is in %s (%s)\n", dir, time.Since(start).Round(time.Second))
}
