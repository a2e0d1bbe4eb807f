package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"banger/internal/api"
)

// SetVMLabels replaces VM name's labels; none removes them all.
func (c *Client) SetVMLabels(ctx context.Context, name string, labels map[string]string) (api.VM, error) {
	var vm api.VM
	err := c.Do(ctx, http.MethodPut, "/vms/"+url.PathEscape(name)+"/labels", api.SetLabelsRequest{Labels: labels}, &vm)
	return vm, err
}

// SetVMExpiry says when the daemon deletes VM name; the zero time for
// never.
func (c *Client) SetVMExpiry(ctx context.Context, name string, at time.Time) (api.VM, error) {
	var vm api.VM
	err := c.Do(ctx, http.MethodPut, "/vms/"+url.PathEscape(name)+"/expiry", api.SetExpiryRequest{ExpiresAt: at}, &vm)
	return vm, err
}
