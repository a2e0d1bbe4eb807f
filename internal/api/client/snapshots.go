package client

import (
	"context"
	"net/http"
	"net/url"

	"banger/internal/api"
	"banger/internal/progress"
)

// Snapshots are the daemon's snapshot calls, as client.Snapshots() gives
// them.
type Snapshots struct{ c *Client }

// Snapshots is the client's snapshot calls.
func (c *Client) Snapshots() Snapshots { return Snapshots{c} }

// Take saves running VM vm whole, reporting progress.
func (s Snapshots) Take(ctx context.Context, vm string, req api.SnapshotVMRequest, prog progress.Func) (api.Snapshot, error) {
	var sn api.Snapshot
	err := s.c.Stream(ctx, http.MethodPost, "/vms/"+url.PathEscape(vm)+"/snapshot", req, prog, &sn)
	return sn, err
}

// List lists the saved snapshots, oldest first.
func (s Snapshots) List(ctx context.Context) ([]api.Snapshot, error) {
	var out []api.Snapshot
	err := s.c.Do(ctx, http.MethodGet, "/snapshots", nil, &out)
	return out, err
}

// Get describes one snapshot.
func (s Snapshots) Get(ctx context.Context, name string) (api.Snapshot, error) {
	var sn api.Snapshot
	err := s.c.Do(ctx, http.MethodGet, "/snapshots/"+url.PathEscape(name), nil, &sn)
	return sn, err
}

// Delete removes a snapshot and its files.
func (s Snapshots) Delete(ctx context.Context, name string) error {
	return s.c.Do(ctx, http.MethodDelete, "/snapshots/"+url.PathEscape(name), nil, nil)
}
