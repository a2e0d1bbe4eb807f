package qemu

// AgentOverVsock reports whether VMs of this driver reach their guest
// agent over vhost-vsock (at GuestCID) rather than the virtio-serial port
// backed by Spec.AgentSocket.
func (d *Driver) AgentOverVsock() bool {
	if d.VhostVsock != nil {
		return d.VhostVsock()
	}
	return hostHasVhostVsock()
}
