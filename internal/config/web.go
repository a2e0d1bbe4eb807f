package config

import (
	"net"
	"net/netip"
	"strings"
)

// checkWebRemote refuses a web UI address that other machines could reach
// unless web_allow_remote says the user means it: whoever reaches the UI
// with its access token can create and delete VMs.
func (d *decoder) checkWebRemote(c *Config) {
	if c.WebListenAddr == "" || c.WebAllowRemote || IsLoopbackAddr(c.WebListenAddr) {
		return
	}
	d.fail("web_listen_addr", "%q is not a loopback address, so other machines could reach the web UI: "+
		"use \"127.0.0.1:PORT\", or set web_allow_remote = true to let them in with the access token that `banger web token` prints", c.WebListenAddr)
}

// checkE2BRemote refuses an E2B API address that other machines could
// reach unless e2b_allow_remote says the user means it: whoever has the
// API key can create VMs and run commands in them.
func (d *decoder) checkE2BRemote(c *Config) {
	if c.E2BListenAddr == "" || c.E2BAllowRemote || IsLoopbackAddr(c.E2BListenAddr) {
		return
	}
	d.fail("e2b_listen_addr", "%q is not a loopback address, so other machines could reach the E2B API: "+
		"use \"127.0.0.1:PORT\", or set e2b_allow_remote = true to let them in with the API key that `banger e2b env` prints", c.E2BListenAddr)
}

// IsLoopbackAddr reports whether a host:port names this machine's loopback
// interface only: a 127.0.0.0/8 or ::1 address, or "localhost". An empty
// host (every interface) and other host names are not loopback.
func IsLoopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
