// Command banger-kubelet registers this host as a Kubernetes node whose
// pods are banger VMs (package kubelet). `banger kubelet` runs it; it is
// a binary of its own so that banger and bangerd do not link client-go.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"banger/internal/kubelet"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := kubelet.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "banger kubelet: %v\n", err)
		os.Exit(1)
	}
}
