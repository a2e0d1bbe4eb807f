package guestinit

import "testing"

func TestModuleBase(t *testing.T) {
	for path, want := range map[string]string{
		"/lib/modules/k/kernel/drivers/char/hw_random/virtio-rng.ko": "virtio_rng",
		"/x/virtio_blk.ko.zst": "virtio_blk",
	} {
		if got := moduleBase(path); got != want {
			t.Errorf("moduleBase(%q) = %q, want %q", path, got, want)
		}
	}
}
