// Package agent is banger-vsock-agent, the guest side of banger: it will
// report readiness, addresses and host keys and run commands for bangerd.
// Today it answers --version and otherwise idles, so the build, install
// and boot paths are real.
package agent

import (
	"context"
	"flag"
	"fmt"
	"io"

	"banger/internal/version"
)

// Run is the agent's entry point.
func Run(ctx context.Context, args []string, stdout io.Writer) error {
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
	// The host channel (vsock or virtio-serial) arrives with VM support; until
	// then the agent only stays up, so its unit does not restart in a loop.
	fmt.Fprintf(stdout, "banger-vsock-agent %s: no host channel yet; idling\n", version.Version)
	<-ctx.Done()
	return nil
}
