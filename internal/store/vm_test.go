package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"banger/internal/errdefs"
)

func testVM(name string) VM {
	return VM{Name: name, State: "created", Image: "debian", VMM: "qemu", VCPU: 1, MemoryMiB: 512}
}

// setClock makes s read the time from *now.
func setClock(s *Store, now *time.Time) {
	s.now = func() time.Time { return *now }
}

func TestCreateVMSetsTimes(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	now := at(0)
	setClock(s, &now)
	if err := s.CreateVM(ctx, testVM("box")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetVM(ctx, "box")
	if err != nil || !got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(now) {
		t.Fatalf("GetVM = %+v, %v; want both times %v", got, err, now)
	}
}

func TestVMTimesComeBackUTC(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	v := testVM("box")
	v.CreatedAt = at(0).In(time.FixedZone("CET", 3600))
	v.UpdatedAt = v.CreatedAt
	if err := s.CreateVM(ctx, v); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetVM(ctx, "box")
	if err != nil || got.CreatedAt != at(0) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v, %v; want %v in UTC", got.CreatedAt, err, at(0))
	}
}

func TestUpdateVM(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	now := at(0)
	setClock(s, &now)
	if err := s.CreateVM(ctx, testVM("box")); err != nil {
		t.Fatal(err)
	}
	now = at(5)
	want := VM{
		Name: "box", State: "running", Image: "alpine", Kernel: "6.6", VMM: "firecracker", VCPU: 4, MemoryMiB: 2048,
		DiskBytes: 1 << 30, IP: "10.0.0.3", VID: "0a1b2c3d", Accel: "kvm", RootMode: "overlay", Tap: "bg-0a1b2c3d",
		MAC: "06:00:0a:00:00:03", Network: "allow=10.0.0.0/8", LastError: "x", CreatedAt: at(0), UpdatedAt: at(5),
	}
	changed := want
	changed.CreatedAt = at(99) // ignored: CreatedAt never changes
	if err := s.UpdateVM(ctx, changed); err != nil {
		t.Fatalf("UpdateVM: %v", err)
	}
	if got, err := s.GetVM(ctx, "box"); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("after update GetVM = %+v, %v\nwant %+v", got, err, want)
	}
	err := s.UpdateVM(ctx, testVM("ghost"))
	if !errors.Is(err, errdefs.ErrNotFound) || err.Error() != "no VM named \"ghost\": `banger vm list` shows them" {
		t.Fatalf("UpdateVM of missing vm = %v, want not-found", err)
	}
}

func TestInvalidVMRefused(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	bad := map[string]func(*VM){
		"empty name": func(v *VM) { v.Name = "" },
		"zero vcpu":  func(v *VM) { v.VCPU = 0 },
		"no memory":  func(v *VM) { v.MemoryMiB = 0 },
		"bad vmm":    func(v *VM) { v.VMM = "xen" },
	}
	for what, spoil := range bad {
		v := testVM("box")
		spoil(&v)
		if err := s.CreateVM(ctx, v); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: CreateVM = %v, want invalid-argument", what, err)
		}
	}
	if vms, err := s.ListVMs(ctx); err != nil || len(vms) != 0 {
		t.Errorf("ListVMs = %v, %v; want none", vms, err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v := testVM(fmt.Sprintf("vm-%02d", i))
			if errs[i] = s.CreateVM(ctx, v); errs[i] != nil {
				return
			}
			v.State = "running"
			errs[i] = s.UpdateVM(ctx, v)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if vms, err := s.ListVMs(ctx); err != nil || len(vms) != n {
		t.Fatalf("ListVMs = %d vms, %v; want %d", len(vms), err, n)
	}
}

func TestGuestAddressBelongsToOneVM(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	a, b := testVM("a"), testVM("b")
	a.IP, a.VID = "172.16.0.2", "aaaa"
	b.VID = "bbbb"
	if err := s.CreateVM(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateVM(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.IP = a.IP
	if err := s.UpdateVM(ctx, b); err == nil {
		t.Fatal("two VMs got the same address")
	}
	b.IP = ""
	c := testVM("c") // VMs without an address (stopped) do not collide
	c.VID = "cccc"
	if err := s.UpdateVM(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateVM(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetVM(ctx, "a")
	if err != nil || got.VID != "aaaa" || got.IP != "172.16.0.2" {
		t.Fatalf("GetVM(a) = %+v, %v", got, err)
	}
}

// TestVMsBeforePoliciesAreOpen checks the migration that gave VMs a network
// policy: a VM recorded before it keeps the network it had, "open".
func TestVMsBeforePoliciesAreOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "banger.db")
	if err := createFile(path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{db: db, path: path, now: time.Now}
	for _, m := range migrations {
		if strings.Contains(m.sql, "ADD COLUMN network") {
			break
		}
		if err := old.apply(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO vms (name, state, image, kernel, vmm, vcpu, memory_mib, disk_bytes, ip, created_at, updated_at)
		VALUES ('old', 'stopped', 'debian', '', 'qemu', 1, 512, 0, '', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.GetVM(ctx, "old"); err != nil || v.Network != "open" {
		t.Fatalf("a VM from before network policies: %+v, %v; want network open", v, err)
	}
}

func TestVMPortsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	v := testVM("box")
	v.Ports = []Port{
		{HostAddr: "127.0.0.1", HostPort: 18080, GuestPort: 8000, Proto: "tcp", Bound: 18080},
		{HostAddr: "::1", GuestPort: 53, Proto: "udp"},
	}
	if err := s.CreateVM(ctx, v); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetVM(ctx, "box")
	if err != nil || fmt.Sprint(got.Ports) != fmt.Sprint(v.Ports) {
		t.Fatalf("Ports = %+v, %v; want %+v", got.Ports, err, v.Ports)
	}
	got.Ports = nil
	if err := s.UpdateVM(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetVM(ctx, "box"); err != nil || got.Ports != nil {
		t.Fatalf("Ports after clearing = %+v, %v; want none", got.Ports, err)
	}
}
