package store

import (
	"context"
	"database/sql"
	"maps"
	"path/filepath"
	"testing"
	"time"
)

func TestVMLabelsAndExpiryRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	v := testVM("box")
	v.Labels = map[string]string{"team": "infra", "e2b.dev/id": "x y \u2615", "empty": ""}
	v.ExpiresAt = time.Date(2031, 5, 6, 7, 8, 9, 123, time.UTC)
	if err := s.CreateVM(ctx, v); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetVM(ctx, "box")
	if err != nil || !maps.Equal(got.Labels, v.Labels) || !got.ExpiresAt.Equal(v.ExpiresAt) {
		t.Fatalf("GetVM = labels %v, expires %v, %v; want %v, %v", got.Labels, got.ExpiresAt, err, v.Labels, v.ExpiresAt)
	}
	got.Labels, got.ExpiresAt = nil, time.Time{}
	if err := s.UpdateVM(ctx, got); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListVMs(ctx)
	if err != nil || len(list) != 1 || list[0].Labels != nil || !list[0].ExpiresAt.IsZero() {
		t.Fatalf("ListVMs after clearing = %+v, %v; want no labels and no expiry", list, err)
	}
}

// TestVMsBeforeLabelsNeverExpire checks the migration that gave VMs
// labels and an expiry: a VM recorded before it has neither.
func TestVMsBeforeLabelsNeverExpire(t *testing.T) {
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
		if m.name == "0006_vm_labels.sql" {
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
	v, err := s.GetVM(ctx, "old")
	if err != nil || v.Labels != nil || !v.ExpiresAt.IsZero() {
		t.Fatalf("a VM from before labels: %+v, %v; want no labels and no expiry", v, err)
	}
}
