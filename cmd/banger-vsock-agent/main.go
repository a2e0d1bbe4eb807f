// Command banger-vsock-agent runs inside each guest and answers bangerd
// over virtio-serial or vsock (package agent).
//
// The same binary is the guest's initramfs /init: started by the kernel as
// "/init", it is banger-init (package guestinit) instead. Started as PID 1
// after the switch to the root filesystem (an image with no init of its
// own), it is a minimal init that also serves bangerd.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"banger/internal/agent"
	"banger/internal/guestabi"
	"banger/internal/guestinit"
)

func main() {
	if os.Args[0] == guestabi.InitPath {
		// As PID 1, Run does not return.
		err := guestinit.Run()
		fmt.Fprintf(os.Stderr, "banger-init: %v\n", err)
		os.Exit(1)
	}
	if os.Getpid() == 1 {
		// The image has no init of its own: be a minimal one.
		err := agent.RunInit(os.Stdout)
		fmt.Fprintf(os.Stderr, "banger-vsock-agent: %v\n", err)
		select {} // PID 1 must not exit: the kernel would panic
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := agent.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "banger-vsock-agent: %v\n", err)
		os.Exit(1)
	}
}
