package server

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/store"
)

// seedLabeled records stopped VMs with the labels given, by name.
func (a *testAPI) seedLabeled(t *testing.T, vms map[string]map[string]string) {
	t.Helper()
	for name, labels := range vms {
		v := store.VM{Name: name, State: "stopped", Image: "deb", VMM: "qemu", VCPU: 1, MemoryMiB: 256, VID: name, Labels: labels}
		if err := a.store.CreateVM(a.ctx, v); err != nil {
			t.Fatal(err)
		}
	}
}

func names(vms []api.VM) []string {
	out := []string{}
	for _, v := range vms {
		out = append(out, v.Name)
	}
	return out
}

func TestListVMsByLabel(t *testing.T) {
	a := newTestAPI(t)
	a.seedLabeled(t, map[string]map[string]string{
		"a": {"team": "infra", "tier": "db"},
		"b": {"team": "infra"},
		"c": {"team": "web", "tier": ""},
		"d": nil,
	})
	cases := []struct {
		terms []string
		want  []string
	}{
		{nil, []string{"a", "b", "c", "d"}},
		{[]string{"team=infra"}, []string{"a", "b"}},
		{[]string{"team=infra", "tier"}, []string{"a"}},
		{[]string{"tier"}, []string{"a", "c"}},
		{[]string{"tier="}, []string{"c"}},
		{[]string{"team=nobody"}, []string{}},
	}
	for _, c := range cases {
		vms, err := a.client.ListVMs(a.ctx, c.terms...)
		if err != nil || !slices.Equal(names(vms), c.want) {
			t.Errorf("ListVMs(%q) = %v, %v; want %v", c.terms, names(vms), err, c.want)
		}
	}
	vms, _ := a.client.ListVMs(a.ctx, "tier=db")
	if len(vms) != 1 || !maps.Equal(vms[0].Labels, map[string]string{"team": "infra", "tier": "db"}) {
		t.Errorf("listed VM a = %+v, want its labels", vms)
	}
	if _, err := a.client.ListVMs(a.ctx, "bad key"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("ListVMs with a bad term = %v, want invalid argument", err)
	}
}

func TestSetVMLabelsAndExpiry(t *testing.T) {
	a := newTestAPI(t)
	a.seedLabeled(t, map[string]map[string]string{"box": {"team": "infra"}})
	want := map[string]string{"team": "web", "owner": "me"}
	v, err := a.client.SetVMLabels(a.ctx, "box", want)
	if err != nil || !maps.Equal(v.Labels, want) {
		t.Fatalf("SetVMLabels = %v, %v; want %v", v.Labels, err, want)
	}
	if got, _ := a.client.GetVM(a.ctx, "box"); !maps.Equal(got.Labels, want) {
		t.Errorf("GetVM labels = %v, want %v", got.Labels, want)
	}
	if _, err := a.client.SetVMLabels(a.ctx, "box", map[string]string{"-x": ""}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("SetVMLabels with a bad key = %v, want invalid argument", err)
	}
	if _, err := a.client.SetVMLabels(a.ctx, "ghost", want); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("SetVMLabels(ghost) = %v, want not found", err)
	}
	at := time.Now().Add(time.Hour).UTC().Round(time.Second)
	if v, err := a.client.SetVMExpiry(a.ctx, "box", at); err != nil || !v.ExpiresAt.Equal(at) {
		t.Fatalf("SetVMExpiry = %v, %v; want %v", v.ExpiresAt, err, at)
	}
	if got, _ := a.client.GetVM(a.ctx, "box"); !got.ExpiresAt.Equal(at) {
		t.Errorf("GetVM expires_at = %v, want %v", got.ExpiresAt, at)
	}
	if v, err := a.client.SetVMExpiry(a.ctx, "box", time.Time{}); err != nil || !v.ExpiresAt.IsZero() {
		t.Errorf("SetVMExpiry(never) = %v, %v; want none", v.ExpiresAt, err)
	}
}
