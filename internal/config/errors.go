package config

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"banger/internal/errdefs"
)

// Error is one problem in a config file. Parse returns every problem it
// finds, joined with errors.Join, so callers can list them all at once.
type Error struct {
	File string // the config file, as given to Parse or Load
	Line int    // 1-based; 0 when unknown
	Key  string // full dotted key, e.g. vm_defaults.vcpu or file_sync[2].mode
	Msg  string // what is wrong and how to fix it
}

// Error formats the problem as FILE:LINE: KEY: MSG, leaving out parts that
// are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Key)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every config error an invalid-argument error.
func (e *Error) Is(target error) bool { return target == errdefs.ErrInvalidArgument }

// joinErrors sorts problems by line, then key, and joins them.
func joinErrors(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Key, b.Key))
	})
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return errors.Join(joined...)
}

// syntaxError turns an error from the TOML decoder into an *Error with the
// position it reports.
func syntaxError(file string, err error) *Error {
	e := &Error{File: file, Msg: "invalid TOML: " + strings.TrimPrefix(err.Error(), "toml: ")}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		e.Line = line
		e.Key = formatKey(de.Key())
		e.Msg = "invalid TOML at column " + strconv.Itoa(col) + ": " +
			strings.TrimPrefix(de.Error(), "toml: ") + "; see https://toml.io for the syntax"
	}
	return e
}

// Brief sums up an error of Load or Parse on one line: its first problem
// as "line N: KEY: MSG", and how many more there are. Other errors are
// returned as they read, on one line.
func Brief(err error) string {
	var list []*Error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			if ce, ok := e.(*Error); ok {
				list = append(list, ce)
			}
		}
	} else if ce, ok := err.(*Error); ok {
		list = []*Error{ce}
	}
	if len(list) == 0 {
		return oneLine(err.Error())
	}
	first := list[0]
	var parts []string
	if first.Line > 0 {
		parts = append(parts, "line "+strconv.Itoa(first.Line))
	}
	if first.Key != "" {
		parts = append(parts, first.Key)
	}
	s := strings.Join(append(parts, first.Msg), ": ")
	if n := len(list) - 1; n == 1 {
		s += "; and 1 more problem"
	} else if n > 1 {
		s += "; and " + strconv.Itoa(n) + " more problems"
	}
	return oneLine(s)
}

// oneLine folds line breaks into spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
