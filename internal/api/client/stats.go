package client

import (
	"context"
	"net/http"
	"net/url"

	"banger/internal/api"
)

// VMStats measures running VM vm: its VMM process and its guest.
func (c *Client) VMStats(ctx context.Context, vm string) (api.VMStats, error) {
	var st api.VMStats
	err := c.Do(ctx, http.MethodGet, "/vms/"+url.PathEscape(vm)+"/stats", nil, &st)
	return st, err
}
