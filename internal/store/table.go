package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"banger/internal/errdefs"
)

// A table holds the CRUD code shared by every record type T. Each record has
// a unique, non-empty name, which is the key of every lookup.
type table[T any] struct {
	noun    string            // in messages, and the CLI's group: "vm"
	title   string            // in messages when not noun: "VM"
	name    string            // the SQL table
	columns func(*T) []column // "name" first
	fixed   []string          // columns update leaves alone: "name" and more
}

// split returns the names and fields of cols, leaving out those in skip.
func split(cols []column, skip ...string) (names []string, fields []any) {
	for _, c := range cols {
		if !slices.Contains(skip, c.name) {
			names = append(names, c.name)
			fields = append(fields, c.field)
		}
	}
	return names, fields
}

func (t table[T]) insert(ctx context.Context, db *sql.DB, key string, rec T) error {
	names, fields := split(t.columns(&rec))
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ")
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (name) DO NOTHING",
		t.name, strings.Join(names, ", "), marks)
	exists := errdefs.AlreadyExists("%s %q already exists: pick another name", t.what(), key)
	return t.exec(ctx, db, "inserting", key, exists, q, fields...)
}

// update writes every column of rec but t.fixed.
func (t table[T]) update(ctx context.Context, db *sql.DB, key string, rec T) error {
	names, fields := split(t.columns(&rec), t.fixed...)
	q := fmt.Sprintf("UPDATE %s SET %s = ? WHERE name = ?", t.name, strings.Join(names, " = ?, "))
	return t.exec(ctx, db, "updating", key, t.notFound(key), q, append(fields, key)...)
}

func (t table[T]) remove(ctx context.Context, db *sql.DB, key string) error {
	q := "DELETE FROM " + t.name + " WHERE name = ?"
	return t.exec(ctx, db, "deleting", key, t.notFound(key), q, key)
}

// exec runs a statement meant to change exactly one row, and returns none
// when it changed nothing.
func (t table[T]) exec(ctx context.Context, db *sql.DB, verb, key string, none error, q string, args ...any) error {
	res, err := db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", verb, t.noun, key, classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", verb, t.noun, key, err)
	}
	if n == 0 {
		return none
	}
	return nil
}

// notFound names the missing record once, and how to see those there are.
func (t table[T]) notFound(key string) error {
	return errdefs.NotFound("no %s named %q: `banger %s list` shows them", t.what(), key, t.noun)
}

// what is the record's kind as a message says it.
func (t table[T]) what() string {
	if t.title != "" {
		return t.title
	}
	return t.noun
}

func (t table[T]) selectFrom() string {
	names, _ := split(t.columns(new(T)))
	return "SELECT " + strings.Join(names, ", ") + " FROM " + t.name
}

func (t table[T]) get(ctx context.Context, db *sql.DB, key string) (T, error) {
	var rec T
	_, fields := split(t.columns(&rec))
	err := db.QueryRowContext(ctx, t.selectFrom()+" WHERE name = ?", key).Scan(fields...)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, t.notFound(key)
	}
	if err != nil {
		return rec, fmt.Errorf("reading %s %s: %w", t.noun, key, err)
	}
	return rec, nil
}

// list returns every record, ordered by name.
func (t table[T]) list(ctx context.Context, db *sql.DB) ([]T, error) {
	rows, err := db.QueryContext(ctx, t.selectFrom()+" ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("listing %ss: %w", t.noun, err)
	}
	defer rows.Close()
	recs := []T{}
	for rows.Next() {
		var rec T
		_, fields := split(t.columns(&rec))
		if err := rows.Scan(fields...); err != nil {
			return nil, fmt.Errorf("listing %ss: %w", t.noun, err)
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing %ss: %w", t.noun, err)
	}
	return recs, nil
}
