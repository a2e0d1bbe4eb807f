// Package mcpcmd is what the banger CLI needs to launch the MCP server
// without linking it: `banger mcp` checks its flags here, then execs
// `bangerd mcp` (package mcp's Main), so that no other banger command
// pays for loading the MCP SDK.
package mcpcmd

import (
	"net/netip"
	"time"

	"banger/internal/errdefs"
)

// Command is bangerd's subcommand that runs the server.
const Command = "mcp"

// DefaultIdleTimeout is how long an HTTP session may send no request
// before it ends and its sandboxes are deleted.
const DefaultIdleTimeout = 30 * time.Minute

// CheckIdleTimeout refuses a negative --idle-timeout.
func CheckIdleTimeout(d time.Duration) error {
	if d < 0 {
		return errdefs.InvalidArgument("--idle-timeout %s: give a duration such as 30m, or 0 to keep idle sessions", d)
	}
	return nil
}

// CheckListenAddr refuses an address that is not a loopback IP and port:
// the HTTP mode serves this machine's user only.
func CheckListenAddr(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return errdefs.InvalidArgument("--listen %q: want a loopback IP and port, such as 127.0.0.1:7778", addr)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return errdefs.InvalidArgument("--listen %s: banger mcp serves this machine only; listen on 127.0.0.1 or [::1]", addr)
	}
	return nil
}

// Args are bangerd's arguments for the server `banger mcp --listen
// listen --idle-timeout idle` asks for (listen "" for stdio, where idle
// does not apply).
func Args(listen string, idle time.Duration) []string {
	args := []string{Command}
	if listen != "" {
		args = append(args, "--listen", listen, "--idle-timeout", idle.String())
	}
	return args
}
