// Package mcpcmd is what the banger CLI needs to launch the MCP server
// without linking it: `banger mcp` checks its flags here, then execs
// `bangerd mcp` (package mcp's Main), so that no other banger command
// pays for loading the MCP SDK.
package mcpcmd

import (
	"net/netip"

	"banger/internal/errdefs"
)

// Command is bangerd's subcommand that runs the server.
const Command = "mcp"

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
// listen` asks for ("" for stdio).
func Args(listen string) []string {
	args := []string{Command}
	if listen != "" {
		args = append(args, "--listen", listen)
	}
	return args
}
