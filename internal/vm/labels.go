package vm

import (
	"context"
	"maps"
	"time"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/label"
	"banger/internal/store"
)

// checkLabelsAndExpiry refuses a create request's labels that break the
// rules of package label, and an expiry that is not to come.
func checkLabelsAndExpiry(req api.CreateVMRequest, now time.Time) error {
	if err := label.Validate(req.Labels); err != nil {
		return err
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		return errdefs.InvalidArgument("expiry %s has passed already: give a time to come", req.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// SetLabels replaces VM name's labels with labels; none removes them
// all. It waits for the VM's lifecycle operation in progress, if any.
func (m *Manager) SetLabels(ctx context.Context, name string, labels map[string]string) (store.VM, error) {
	if err := label.Validate(labels); err != nil {
		return store.VM{}, err
	}
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	v.Labels = nil
	if len(labels) > 0 {
		v.Labels = maps.Clone(labels)
	}
	return v, m.store.UpdateVM(ctx, v)
}

// SetExpiry says when VM name is deleted, whatever its state; the zero
// time keeps it until it is deleted by hand. A time past deletes it at
// once.
func (m *Manager) SetExpiry(ctx context.Context, name string, at time.Time) (store.VM, error) {
	unlock := m.lockVM(name)
	v, err := m.store.GetVM(ctx, name)
	if err == nil {
		v.ExpiresAt = at
		err = m.store.UpdateVM(ctx, v)
	}
	unlock()
	if err == nil {
		m.log.Info("VM expiry set", "vm", name, "expires_at", at)
		m.reaper.poke()
	}
	return v, err
}
