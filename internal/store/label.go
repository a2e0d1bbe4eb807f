package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// labelMap stores a VM's labels as a JSON object; none as "".
type labelMap map[string]string

// Value implements driver.Valuer.
func (l labelMap) Value() (driver.Value, error) {
	if len(l) == 0 {
		return "", nil
	}
	b, err := json.Marshal(map[string]string(l))
	return string(b), err
}

// Scan implements sql.Scanner.
func (l *labelMap) Scan(src any) error {
	var b []byte
	switch s := src.(type) {
	case string:
		b = []byte(s)
	case []byte:
		b = s
	default:
		return fmt.Errorf("scanning labels: got %T, want text", src)
	}
	*l = nil
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, (*map[string]string)(l)); err != nil {
		return fmt.Errorf("scanning labels: %w", err)
	}
	return nil
}

// optionalTime stores a time that may be unset: the zero time as 0, any
// other as unixNano does.
type optionalTime time.Time

// Value implements driver.Valuer.
func (t optionalTime) Value() (driver.Value, error) {
	if time.Time(t).IsZero() {
		return int64(0), nil
	}
	return unixNano(t).Value()
}

// Scan implements sql.Scanner.
func (t *optionalTime) Scan(src any) error {
	if n, ok := src.(int64); ok && n == 0 {
		*t = optionalTime{}
		return nil
	}
	return (*unixNano)(t).Scan(src)
}
