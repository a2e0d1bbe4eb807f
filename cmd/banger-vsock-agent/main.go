// Command banger-vsock-agent runs inside each guest and talks to bangerd
// over vsock or virtio-serial. For now it only reports its version.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"banger/internal/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := agent.Run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "banger-vsock-agent: %v\n", err)
		os.Exit(1)
	}
}
