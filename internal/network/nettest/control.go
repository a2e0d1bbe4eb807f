package nettest

import (
	"maps"
	"slices"

	"banger/internal/network"
)

// Fail makes every later call of method ("EnsureBridge", "EnsureTap",
// "EnsureUnpluggedTap", "DeleteTap", "Teardown", "RouteDNS", "SetPolicy",
// "AllowResolved") return err, until Fail(method, nil). A failing call
// changes nothing, and is still recorded.
func (f *Client) Fail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fails, method)
		return
	}
	f.fails[method] = failure{err: err}
}

// FailOnce makes the next call of method return err; see Fail.
func (f *Client) FailOnce(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[method] = failure{err: err, once: true}
}

// Calls returns the calls recorded so far, in order, failed ones included.
func (f *Client) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Methods returns the names of the calls recorded so far, in order.
func (f *Client) Methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.Method
	}
	return out
}

// ResetCalls forgets the calls recorded so far, not the state they made.
func (f *Client) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// Bridge returns the bridge called name, if it exists.
func (f *Client) Bridge(name string) (network.Config, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.bridges[name]
	return c, ok
}

// Bridges returns the bridges that exist, by name.
func (f *Client) Bridges() []network.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]network.Config, 0, len(f.bridges))
	for _, name := range slices.Sorted(maps.Keys(f.bridges)) {
		out = append(out, f.bridges[name])
	}
	return out
}

// DNSRouted reports whether RouteDNS ran for the bridge called name since
// it was last torn down.
func (f *Client) DNSRouted(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dns[name]
}

// Taps returns the taps that exist, by name.
func (f *Client) Taps() []Tap {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Tap, 0, len(f.taps))
	for _, name := range slices.Sorted(maps.Keys(f.taps)) {
		out = append(out, f.taps[name])
	}
	return out
}

// Tap returns the tap called name, if it exists.
func (f *Client) Tap(name string) (Tap, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.taps[name]
	return t, ok
}

// Policy returns the policy set on tap, if any: DeleteTap and Teardown
// remove it with the tap.
func (f *Client) Policy(tap string) (Policy, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.policies[tap]
	p.Policy.Allow = slices.Clone(p.Policy.Allow)
	return p, ok
}

// Resolved returns the AllowResolved calls that succeeded, in order.
func (f *Client) Resolved() []Resolved {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.resolved)
}

// Teardowns returns the configs of the Teardown calls that succeeded, in
// order.
func (f *Client) Teardowns() []network.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.teardowns)
}
