package e2b

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"banger/internal/atomicfile"
)

// record is what the E2B API keeps of a sandbox beside its VM: what the
// VM record has no place for, or must not show (the access token). One
// JSON file per sandbox, readable by bangerd's user only.
type record struct {
	ID          string            `json:"id"`
	Template    string            `json:"template"`
	Env         map[string]string `json:"env,omitempty"`
	AccessToken string            `json:"access_token,omitempty"`
	StartedAt   time.Time         `json:"started_at"`
	// Network is the egress the client asked for, as it asked.
	AllowInternet *bool    `json:"allow_internet_access,omitempty"`
	AllowOut      []string `json:"allow_out,omitempty"`
	DenyOut       []string `json:"deny_out,omitempty"`
}

// records are the sandboxes' records, in dir.
type records struct {
	dir string
	mu  sync.Mutex
}

func (rs *records) path(id string) string { return filepath.Join(rs.dir, id+".json") }

// get reads sandbox id's record; ok is false when there is none.
func (rs *records) get(id string) (record, bool, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	data, err := os.ReadFile(rs.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, fmt.Errorf("reading sandbox %s's record: %w", id, err)
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return record{}, false, fmt.Errorf("reading sandbox %s's record %s: %w", id, rs.path(id), err)
	}
	return r, true, nil
}

// put writes r, atomically.
func (rs *records) put(r record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := atomicfile.Write(rs.path(r.ID), data); err != nil {
		return fmt.Errorf("writing sandbox %s's record: %w", r.ID, err)
	}
	return nil
}

// remove deletes sandbox id's record; a missing one is no error.
func (rs *records) remove(id string) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := os.Remove(rs.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing sandbox %s's record: %w", id, err)
	}
	return nil
}

// prune removes the records of sandboxes not in live (their VMs were
// deleted: expired, or by `banger vm delete`), listed at time listed;
// records written since are of sandboxes made since, and stay. It
// returns the sandboxes it forgot.
func (rs *records) prune(live map[string]bool, listed time.Time) ([]string, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	entries, err := os.ReadDir(rs.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing sandbox records: %w", err)
	}
	var gone []string
	var errs []error
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || live[id] {
			continue
		}
		if info, err := e.Info(); err != nil || !info.ModTime().Before(listed) {
			continue
		}
		if err := os.Remove(filepath.Join(rs.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		gone = append(gone, id)
	}
	return gone, errors.Join(errs...)
}
