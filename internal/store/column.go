package store

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"banger/internal/errdefs"
)

// A column pairs a SQL column with the record field it holds. The same list
// serves as query arguments (database/sql dereferences the pointers) and as
// Scan destinations, so the order is written down once per record.
type column struct {
	name  string
	field any // pointer to the field
}

// unixNano stores a time as integer nanoseconds since the epoch: exact,
// ordered, and free of time zones. It reads back in UTC.
type unixNano time.Time

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Value implements driver.Valuer.
func (t unixNano) Value() (driver.Value, error) {
	tt := time.Time(t)
	if tt.Before(minTime) || tt.After(maxTime) {
		return nil, fmt.Errorf("time %s out of range", tt)
	}
	return tt.UnixNano(), nil
}

// Scan implements sql.Scanner.
func (t *unixNano) Scan(src any) error {
	n, ok := src.(int64)
	if !ok {
		return fmt.Errorf("scanning time: got %T, want integer", src)
	}
	*t = unixNano(time.Unix(0, n).UTC())
	return nil
}

// classify gives a constraint violation (a CHECK or NOT NULL the record broke)
// the invalid-argument kind; other errors pass through.
func classify(err error) error {
	var serr *sqlite.Error
	if errors.As(err, &serr) && serr.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return errdefs.Wrap(errdefs.KindInvalidArgument, err)
	}
	return err
}
