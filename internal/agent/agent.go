// Package agent is banger-vsock-agent, the guest side of banger: it will
// report readiness, addresses and host keys and run commands for bangerd.
// Today it only answers --version, so the build and install paths are real.
package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"banger/internal/version"
)

// Run is the agent's entry point.
func Run(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("banger-vsock-agent", flag.ContinueOnError)
	fs.SetOutput(stdout)
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.Version)
		return nil
	}
	return errors.New("the guest agent is not implemented in this version; only --version works")
}
