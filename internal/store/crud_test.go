package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"banger/internal/errdefs"
)

// crud is one record type's CRUD methods, so the checks every type shares
// are written once.
type crud[T any] struct {
	noun   string
	create func(context.Context, T) error
	get    func(context.Context, string) (T, error)
	list   func(context.Context) ([]T, error)
	remove func(context.Context, string) error
	name   func(T) string
}

// check runs the shared CRUD checks on recs: records with every field set
// and distinct names, given out of name order, the first sorting last.
func (c crud[T]) check(t *testing.T, recs ...T) {
	t.Helper()
	ctx := context.Background()
	for _, r := range recs {
		if err := c.create(ctx, r); err != nil {
			t.Fatalf("creating %s: %v", c.name(r), err)
		}
		if got, err := c.get(ctx, c.name(r)); err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("get %s = %+v, %v\nwant %+v", c.name(r), got, err, r)
		}
	}
	c.checkDuplicate(t, recs[0])
	c.checkOrder(t, len(recs))
	name := c.name(recs[0])
	if err := c.remove(ctx, name); err != nil {
		t.Fatalf("deleting %s: %v", name, err)
	}
	c.checkNotFound(t, name)
}

func (c crud[T]) checkDuplicate(t *testing.T, r T) {
	t.Helper()
	err := c.create(context.Background(), r)
	if !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("creating %s twice = %v, want already-exists", c.name(r), err)
	}
	if want := c.noun + ` "` + c.name(r) + `" already exists: pick another name`; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func (c crud[T]) checkOrder(t *testing.T, n int) {
	t.Helper()
	all, err := c.list(context.Background())
	if err != nil || len(all) != n {
		t.Fatalf("list = %d records, %v; want %d", len(all), err, n)
	}
	for i := 1; i < n; i++ {
		if c.name(all[i-1]) >= c.name(all[i]) {
			t.Errorf("list out of order: %q before %q", c.name(all[i-1]), c.name(all[i]))
		}
	}
}

func (c crud[T]) checkNotFound(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	want := `no ` + c.noun + ` named "` + name + "\": `banger " + strings.ToLower(c.noun) + " list` shows them"
	_, getErr := c.get(ctx, name)
	for op, err := range map[string]error{"get": getErr, "delete": c.remove(ctx, name)} {
		if !errors.Is(err, errdefs.ErrNotFound) || err.Error() != want {
			t.Errorf("%s of missing %s = %v, want not-found %q", op, name, err, want)
		}
	}
}

// at returns a fixed UTC time with nanoseconds, offset by i minutes.
func at(i int) time.Time {
	return time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.UTC).Add(time.Duration(i) * time.Minute)
}

func TestImageCRUD(t *testing.T) {
	s, _ := openTest(t)
	c := crud[Image]{"image", s.CreateImage, s.GetImage, s.ListImages, s.DeleteImage,
		func(im Image) string { return im.Name }}
	c.check(t,
		Image{"zeta", "oci://ghcr.io/x/zeta:1", "/img/zeta.ext4", "vmlinux-6.1", 1 << 30, "sha256:abc", at(1)},
		Image{"alpha", "catalog:debian-bookworm", "/img/alpha.ext4", "", 42, "", at(2)},
		Image{"mid", "register", "/img/mid.ext4", "k", 0, "h", at(3)},
	)
}

func TestKernelCRUD(t *testing.T) {
	s, _ := openTest(t)
	c := crud[Kernel]{"kernel", s.CreateKernel, s.GetKernel, s.ListKernels, s.DeleteKernel,
		func(k Kernel) string { return k.Name }}
	c.check(t,
		Kernel{"zz-6.6", "6.6.1", "/k/bzImage", "/k/vmlinux", "/k/initrd", "catalog:6.6", at(1)},
		Kernel{"aa-6.1", "6.1.0", "/k/vmlinux-6.1", "", "", "register", at(2)},
	)
}

func TestVMCRUD(t *testing.T) {
	s, _ := openTest(t)
	c := crud[VM]{"VM", s.CreateVM, s.GetVM, s.ListVMs, s.DeleteVM, func(v VM) string { return v.Name }}
	c.check(t,
		VM{"web", "running", "debian", "6.1", "firecracker", 2, 1024, 8 << 30, "10.0.0.2", "v1", "kvm", "clone", "bg-v1", "06:00:0a:00:00:02", "internet", "", Workspace{Top: "/src/web", Name: "web", Sub: "cmd", From: "main", Commit: "0123abc", Branch: "try"}, []Port{{HostAddr: "127.0.0.1", HostPort: 8080, GuestPort: 80, Proto: "tcp", Bound: 8080}}, map[string]string{"team": "web"}, at(9), at(1), at(2)},
		VM{"api", "created", "alpine", "6.6", "qemu", 1, 512, 0, "", "v2", "", "", "", "", "none", "boom", Workspace{}, nil, nil, time.Time{}, at(3), at(3)},
		VM{"db", "stopped", "debian", "", "qemu", 8, 8192, 1, "10.0.0.9", "v3", "tcg", "overlay", "", "", "allow=10.0.0.0/8,example.com:443", "", Workspace{Top: "/r", Name: "r"}, nil, nil, time.Time{}, at(4), at(5)},
	)
}
