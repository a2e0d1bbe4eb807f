// Command bangerd is banger's daemon. The banger CLI starts it on demand.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"banger/internal/daemon"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := daemon.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bangerd: %v\n", err)
		os.Exit(1)
	}
}
