// Package store is bangerd's SQLite database: the records of VMs, images and
// kernels. The daemon is its only writer.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is an open banger database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	now  func() time.Time // the clock; tests replace it
}

// Open opens the database at path, creating it and its parent directory
// owner-only if needed, and brings its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolving database path: %w", err)
	}
	if err := createFile(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	s := &Store{db: db, path: path, now: time.Now}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// createFile makes path's directory (0700) and an empty file (0600) so that
// SQLite, which copies the database's mode to its -wal and -shm files, never
// creates anything readable by others.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating database directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("creating database %s: %w", path, err)
	}
	return f.Close()
}

// dsn puts the pragmas in the connection string rather than running them once
// after Open: database/sql pools connections, and busy_timeout, foreign_keys
// and synchronous are per connection, so each new one must get them. A single
// connection would also do, but would serialise the API's reads behind writes,
// which WAL lets run side by side. _txlock=immediate makes BEGIN take the write
// lock up front, so a transaction never fails with SQLITE_BUSY when it
// upgrades from reading to writing (the busy timeout does not cover that).
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	// A file: URI, escaped, so that a path holding '?' or '#' stays a path.
	u := url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}
	return u.String()
}

// init checks the file is a database and migrates it.
func (s *Store) init(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		var serr *sqlite.Error
		if errors.As(err, &serr) && serr.Code()&0xff == sqlite3.SQLITE_NOTADB {
			return fmt.Errorf("opening database %s: not a SQLite database; move it aside and restart bangerd: %w", s.path, err)
		}
		return fmt.Errorf("opening database %s: %w", s.path, err)
	}
	return s.migrate(ctx)
}

// Close closes the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// SchemaVersion reports the version of the database's schema, the number of
// the last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return schemaVersion(ctx, s.db)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}
