package vm

import (
	"errors"
	"maps"
	"testing"
	"time"

	"banger/internal/errdefs"
)

// A VM whose expiry passes is deleted whole, running or not, and the
// deletion is logged; a VM expiring later keeps running meanwhile. The
// reaper wakes when an expiry is set, at create or after.
func TestManagerDeletesVMsAsTheyExpire(t *testing.T) {
	h := mtManager(t)
	h.m.Adopt(h.ctx) // starts the reaper, as the daemon does
	later := time.Now().Add(time.Hour)
	req := h.request("later", true)
	req.ExpiresAt = later
	if _, err := h.m.Create(h.ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	req = h.request("soon", true)
	req.ExpiresAt = time.Now().Add(time.Hour)
	if _, err := h.m.Create(h.ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	if v := h.assertRunning("soon"); !v.ExpiresAt.Equal(req.ExpiresAt) {
		t.Fatalf("VM soon expires at %v, want %v", v.ExpiresAt, req.ExpiresAt)
	}
	if _, err := h.m.SetExpiry(h.ctx, "soon", time.Now().Add(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	h.waitFor("VM soon to expire", func() bool {
		_, err := h.m.Get(h.ctx, "soon")
		return errdefs.KindOf(err) == errdefs.KindNotFound
	})
	h.assertGone("soon")
	if v := h.assertRunning("later"); !v.ExpiresAt.Equal(later) {
		t.Errorf("VM later expires at %v, want %v", v.ExpiresAt, later)
	}
	if !h.logs.has("VM expired: deleting it vm=soon") {
		t.Error("the deletion of VM soon was not logged")
	}

	// An expiry that passes while the VM is being made deletes it once it
	// is made.
	req = h.request("brief", true)
	req.ExpiresAt = time.Now().Add(time.Millisecond)
	if _, err := h.m.Create(h.ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	h.waitFor("VM brief to expire", func() bool {
		_, err := h.m.Get(h.ctx, "brief")
		return errdefs.KindOf(err) == errdefs.KindNotFound
	})
	h.assertGone("brief")
}

// Expiry is kept in the store: a VM that expired while no daemon ran is
// deleted when the next one adopts what it finds, before it serves.
func TestManagerDeletesVMsThatExpiredWhileNoDaemonRan(t *testing.T) {
	h := mtManager(t)
	h.m.Adopt(h.ctx)
	req := h.request("old", true)
	req.ExpiresAt = time.Now().Add(time.Hour)
	if _, err := h.m.Create(h.ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	h.mustCreate("keep", true)
	h.restart(func() {
		v := h.get("old")
		v.ExpiresAt = time.Now().Add(-time.Minute)
		if err := h.store.UpdateVM(h.ctx, v); err != nil {
			t.Fatal(err)
		}
	})
	h.assertGone("old")
	h.assertRunning("keep")
}

// SetExpiry with the zero time keeps a VM for good.
func TestManagerExpiryCanBeCleared(t *testing.T) {
	h := mtManager(t)
	h.m.Adopt(h.ctx)
	req := h.request("box", true)
	req.ExpiresAt = time.Now().Add(time.Hour)
	if _, err := h.m.Create(h.ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	v, err := h.m.SetExpiry(h.ctx, "box", time.Time{})
	if err != nil || !v.ExpiresAt.IsZero() || !h.get("box").ExpiresAt.IsZero() {
		t.Fatalf("SetExpiry(zero) = %+v, %v; want no expiry kept", v.ExpiresAt, err)
	}
	if _, err := h.m.SetExpiry(h.ctx, "ghost", time.Time{}); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("SetExpiry(ghost) = %v, want not found", err)
	}
}

// A create with an expiry past or bad labels is refused before anything
// is made.
func TestManagerCreateRefusesBadLabelsAndExpiry(t *testing.T) {
	h := mtManager(t)
	req := h.request("box", true)
	req.ExpiresAt = time.Now().Add(-time.Second)
	if _, err := h.m.Create(h.ctx, req, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Create with a past expiry = %v, want invalid argument", err)
	}
	req = h.request("box", true)
	req.Labels = map[string]string{"bad key": "x"}
	if _, err := h.m.Create(h.ctx, req, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Create with a bad label = %v, want invalid argument", err)
	}
	if h.calls("Start", "") != 0 {
		t.Error("a refused create started a VMM")
	}
	h.assertGone("box")
}

// Labels given at create are kept, and SetLabels replaces them whole.
func TestManagerLabels(t *testing.T) {
	h := mtManager(t)
	req := h.request("box", true)
	req.Labels = map[string]string{"team": "infra", "e2b.dev/sandbox": "1"}
	if _, err := h.m.Create(h.ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	if got := h.get("box").Labels; !maps.Equal(got, req.Labels) {
		t.Fatalf("labels = %v, want %v", got, req.Labels)
	}
	want := map[string]string{"tier": "db"}
	if v, err := h.m.SetLabels(h.ctx, "box", want); err != nil || !maps.Equal(v.Labels, want) || !maps.Equal(h.get("box").Labels, want) {
		t.Fatalf("SetLabels = %v, %v; want %v kept", v.Labels, err, want)
	}
	if _, err := h.m.SetLabels(h.ctx, "box", map[string]string{"x": "a\nb"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("SetLabels with a control character = %v, want invalid argument", err)
	}
	if v, err := h.m.SetLabels(h.ctx, "box", nil); err != nil || v.Labels != nil || h.get("box").Labels != nil {
		t.Errorf("SetLabels(nil) = %v, %v; want none left", v.Labels, err)
	}
	h.assertRunning("box")
}
