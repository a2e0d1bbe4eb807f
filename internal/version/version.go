// Package version holds banger's build version, stamped at link time with
// -ldflags "-X banger/internal/version.Version=...". The CLI and the daemon
// compare versions so a CLI never talks to a stale daemon.
package version

// Version is the build version; "dev" for untagged builds.
var Version = "dev"
