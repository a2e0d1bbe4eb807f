// Command banger-vsock-agent runs inside each guest and talks to bangerd
// over vsock or virtio-serial. For now it only reports its version.
//
// The same binary is the guest's initramfs /init: started by the kernel as
// "/init", it is banger-init (package guestinit) instead.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"banger/internal/agent"
	"banger/internal/guestinit"
)

func main() {
	if os.Args[0] == "/init" {
		// As PID 1, Run does not return.
		err := guestinit.Run()
		fmt.Fprintf(os.Stderr, "banger-init: %v\n", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := agent.Run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "banger-vsock-agent: %v\n", err)
		os.Exit(1)
	}
}
