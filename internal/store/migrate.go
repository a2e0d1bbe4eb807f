package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"banger/internal/errdefs"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// A migration is one numbered SQL file. Its number is the schema version the
// database has once it is applied.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations are this binary's schema changes, in order. Files are named
// NNNN_what.sql and numbered from 1 without gaps; a test checks that.
var migrations = mustLoadMigrations(migrationFS)

func mustLoadMigrations(fsys fs.FS) []migration {
	ms, err := loadMigrations(fsys)
	if err != nil {
		panic(err) // the files are embedded: only a broken build gets here
	}
	return ms
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql") // sorted
	if err != nil {
		return nil, err
	}
	ms := make([]migration, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want number %04d", base, i+1)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(body)})
	}
	return ms, nil
}

// migrate applies the migrations the database lacks, each in its own
// transaction together with the version bump, so a crash leaves the schema at
// some whole version.
func (s *Store) migrate(ctx context.Context) error {
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("opening database %s: %w", s.path, err)
	}
	if known := len(migrations); current > known {
		return errdefs.FailedPrecondition(
			"database %s has schema version %d, newer than this banger understands (%d): upgrade banger",
			s.path, current, known)
	}
	for _, m := range migrations[current:] {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("migrating database %s: %w", s.path, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("applying %s: %w", m.name, err)
	}
	defer tx.Rollback() // a no-op once committed
	// Re-read under the write lock: another process may have migrated
	// between the check in migrate and BEGIN.
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if v >= m.version {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("applying %s: %w", m.name, err)
	}
	// PRAGMA takes no bound parameters; the version is an int we made.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
		return fmt.Errorf("applying %s: setting version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("applying %s: committing: %w", m.name, err)
	}
	return nil
}
