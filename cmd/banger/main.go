// Command banger is the banger CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"banger/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		os.Exit(cli.Report(os.Stderr, err))
	}
}
