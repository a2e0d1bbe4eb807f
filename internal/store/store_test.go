package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"banger/internal/errdefs"
)

// openTest opens a store in a fresh temp dir and closes it when t ends.
func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "banger.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenCreatesOwnerOnlyFiles(t *testing.T) {
	_, path := openTest(t)
	for _, p := range []string{path, path + "-wal", path + "-shm", filepath.Dir(path)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", p, got, want)
		}
	}
}

func TestOpenMigratesAndReopens(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
	if err := s.CreateKernel(ctx, Kernel{Name: "k", Path: "/k"}); err != nil {
		t.Fatalf("CreateKernel: %v", err)
	}
	s.Close()

	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer s2.Close()
	if v, err := s2.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("SchemaVersion after reopen = %d, %v; want %d", v, err, len(migrations))
	}
	if _, err := s2.GetKernel(ctx, "k"); err != nil {
		t.Fatalf("data lost across reopen: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	if _, err := s.db.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatalf("setting user_version: %v", err)
	}
	s.Close()

	_, err := Open(ctx, path)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("Open = %v, want a failed-precondition error", err)
	}
	want := "database " + path + " has schema version 99, newer than this banger understands (" + strconv.Itoa(len(migrations)) + "): upgrade banger"
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
}

func TestOpenRefusesGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "banger.db")
	junk := strings.Repeat("this is not a database\n", 100)
	if err := os.WriteFile(path, []byte(junk), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if err == nil {
		t.Fatal("Open of a text file succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "not a SQLite database") {
		t.Errorf("error %q should name %s and say it is not a database", msg, path)
	}
}

func TestPragmasApplyToEveryConnection(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	want := map[string]string{"journal_mode": "wal", "busy_timeout": "5000", "foreign_keys": "1", "synchronous": "1"}
	for i := range 3 { // hold each conn so the pool must open a new one
		conn, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		defer conn.Close()
		for pragma, w := range want {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != w {
				t.Errorf("conn %d: PRAGMA %s = %q, %v; want %q", i, pragma, got, err, w)
			}
		}
	}
}

func TestMigrationsMustBeNumberedWithoutGaps(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0001_init.sql": {Data: []byte("SELECT 1;")},
		"migrations/0003_more.sql": {Data: []byte("SELECT 1;")},
	}
	if _, err := loadMigrations(fsys); err == nil {
		t.Fatal("loadMigrations accepted a gap in the numbering")
	}
	if len(migrations) == 0 || migrations[0].name != "0001_init.sql" {
		t.Fatalf("embedded migrations = %v", migrations)
	}
}
