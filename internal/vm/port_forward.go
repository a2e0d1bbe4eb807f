package vm

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/store"
)

// Ports is the manager's port forwarding side: `banger vm port-forward`.
type Ports struct{ m *Manager }

// Ports adds and removes the host ports forwarded to VMs.
func (m *Manager) Ports() Ports { return Ports{m} }

// Add forwards more host ports to VM name: at once when it runs,
// and each time it starts. A port that cannot be had (taken on the host)
// is not recorded.
func (pp Ports) Add(ctx context.Context, name string, reqs []api.PortForward) (store.VM, error) {
	m := pp.m
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	if PolicyOf(v) == "none" {
		return v, errPortsUnderNone(name)
	}
	add, err := checkPorts(reqs, v.Ports)
	if err != nil {
		return v, err
	}
	running := v.State == StateRunning && v.IP != ""
	for i, p := range add {
		if !running {
			continue
		}
		if add[i], err = m.ports.add(v, p); err != nil {
			for _, done := range add[:i] {
				m.ports.remove(v, done)
			}
			return v, err
		}
	}
	v.Ports = append(v.Ports, add...)
	return v, m.store.UpdateVM(ctx, v)
}

// Remove stops forwarding the host ports of VM name that match
// one of reqs: its host port (as asked or as bound), its address unless
// empty, its protocol unless empty. Each of reqs must match one.
func (pp Ports) Remove(ctx context.Context, name string, reqs []api.PortForward) (store.VM, error) {
	m := pp.m
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	for _, r := range reqs {
		if !slices.ContainsFunc(v.Ports, func(p store.Port) bool { return portMatches(p, r) }) {
			return v, errdefs.NotFound("VM %s forwards no host port %s: it forwards %s", name, hostPortString(r), portsString(v.Ports))
		}
	}
	keep := v.Ports[:0:0]
	for _, p := range v.Ports {
		if slices.ContainsFunc(reqs, func(r api.PortForward) bool { return portMatches(p, r) }) {
			m.ports.remove(v, p)
			continue
		}
		keep = append(keep, p)
	}
	v.Ports = keep
	return v, m.store.UpdateVM(ctx, v)
}

// portMatches reports whether removal r names p.
func portMatches(p store.Port, r api.PortForward) bool {
	if r.HostPort == 0 || (r.HostPort != p.HostPort && r.HostPort != p.Bound) {
		return false
	}
	return (r.HostAddr == "" || r.HostAddr == p.HostAddr) && (r.Proto == "" || r.Proto == p.Proto)
}

func hostPortString(r api.PortForward) string {
	s := strconv.Itoa(r.HostPort)
	if r.HostAddr != "" {
		s = net.JoinHostPort(r.HostAddr, s)
	}
	if r.Proto != "" {
		s += "/" + r.Proto
	}
	return s
}

// PortsAPI is v's ports as the API reports them.
func PortsAPI(ports []store.Port) []api.PortForward {
	var out []api.PortForward
	for _, p := range ports {
		out = append(out, api.PortForward{HostAddr: p.HostAddr, HostPort: p.HostPort, GuestPort: p.GuestPort, Proto: p.Proto, Bound: p.Bound})
	}
	return out
}

func portsString(ports []store.Port) string {
	if len(ports) == 0 {
		return "none"
	}
	var s []string
	for _, p := range PortsAPI(ports) {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}
