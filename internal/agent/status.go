package agent

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"banger/internal/agent/agentproto"
)

// hostKeyName is the host key whose presence readiness requires.
const hostKeyName = "ssh_host_ed25519_key.pub"

// status looks at the guest now.
func (s *Server) status() agentproto.Status {
	st := s.statusNoSSHWait()
	if st.SSH {
		if reason := s.sshdReadiness(); reason != "" {
			st.Ready, st.Reason = false, reason
		}
	}
	return st
}

// statusNoSSHWait is the guest's status for a caller that does not use
// sshd: ready, whether or not sshd accepts connections yet.
func (s *Server) statusNoSSHWait() agentproto.Status {
	st := agentproto.Status{
		Hostname:  s.opts.Hostname(),
		Addresses: []string{},
		HostKeys:  s.hostKeys(),
		Uptime:    s.uptime(),
		Ready:     true,
	}
	if addrs, err := s.opts.Addresses(); err != nil {
		s.log.Warn("listing addresses", "err", err)
	} else if addrs != nil {
		st.Addresses = addrs
	}
	st.SSH = s.opts.SSHDPath != "" && fileExists(s.opts.SSHDPath)
	return st
}

// sshdReadiness says what keeps sshd from being usable, or "" when it is.
func (s *Server) sshdReadiness() string {
	key := filepath.Join(s.opts.HostKeyDir, hostKeyName)
	if !fileExists(key) {
		return fmt.Sprintf("sshd has no host key %s yet", key)
	}
	ok, err := listening(s.opts.ProcDir, s.opts.SSHAddr)
	if err != nil {
		return fmt.Sprintf("cannot tell whether sshd listens on %s: %v", s.opts.SSHAddr, err)
	}
	if !ok {
		return fmt.Sprintf("sshd does not listen on %s yet", s.opts.SSHAddr)
	}
	return ""
}

// hostKeys reads the public host keys, in file name order.
func (s *Server) hostKeys() []string {
	keys := []string{}
	if s.opts.HostKeyDir == "" {
		return keys
	}
	paths, _ := filepath.Glob(filepath.Join(s.opts.HostKeyDir, "ssh_host_*_key.pub"))
	slices.Sort(paths)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			s.log.Warn("reading host key", "path", p, "err", err)
			continue
		}
		if k := strings.TrimSpace(string(b)); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// uptime is the first field of /proc/uptime, or 0 when unreadable.
func (s *Server) uptime() float64 {
	b, err := os.ReadFile(filepath.Join(s.opts.ProcDir, "uptime"))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0
	}
	up, _ := strconv.ParseFloat(fields[0], 64)
	return up
}

// bootID is the kernel's id of this boot.
func (s *Server) bootID() string {
	b, err := os.ReadFile(filepath.Join(s.opts.ProcDir, "sys", "kernel", "random", "boot_id"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// interfaceAddresses lists this machine's addresses in CIDR form, leaving
// out loopback interfaces and link-local addresses, which the host cannot
// use to reach the guest.
func interfaceAddresses() ([]string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	out := []string{}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback != 0 || ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, fmt.Errorf("listing addresses of %s: %w", ifc.Name, err)
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			out = append(out, ipn.String())
		}
	}
	return out, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
