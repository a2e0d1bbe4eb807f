package client

import (
	"context"
	"net/http"
	"net/url"

	"banger/internal/api"
)

// AddPorts forwards more host ports to VM name, at once when it runs.
func (c *Client) AddPorts(ctx context.Context, name string, ports []api.PortForward) (api.VM, error) {
	var vm api.VM
	err := c.Do(ctx, http.MethodPost, "/vms/"+url.PathEscape(name)+"/ports", api.AddPortsRequest{Ports: ports}, &vm)
	return vm, err
}

// RemovePorts stops forwarding the host ports hostPorts, each
// [HOSTADDR:]HOSTPORT[/PROTO], to VM name.
func (c *Client) RemovePorts(ctx context.Context, name string, hostPorts []string) (api.VM, error) {
	var vm api.VM
	q := url.Values{"port": hostPorts}
	err := c.Do(ctx, http.MethodDelete, "/vms/"+url.PathEscape(name)+"/ports?"+q.Encode(), nil, &vm)
	return vm, err
}
