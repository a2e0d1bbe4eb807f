// Package errdefs defines the small, fixed set of error kinds that banger's
// packages return and that survive the trip over the daemon's API, so callers
// can test them with errors.Is whichever side of the socket produced them.
package errdefs

import (
	"errors"
	"fmt"
)

// Kind names a class of failure. Its string form is used on the wire.
type Kind string

// The error kinds. Keep this list short: a new kind is a protocol change.
const (
	KindNotFound           Kind = "not_found"
	KindAlreadyExists      Kind = "already_exists"
	KindInvalidArgument    Kind = "invalid_argument"
	KindFailedPrecondition Kind = "failed_precondition"
	KindUnavailable        Kind = "unavailable"
	KindInternal           Kind = "internal"
)

// Sentinels for errors.Is.
var (
	ErrNotFound           = &sentinel{KindNotFound}
	ErrAlreadyExists      = &sentinel{KindAlreadyExists}
	ErrInvalidArgument    = &sentinel{KindInvalidArgument}
	ErrFailedPrecondition = &sentinel{KindFailedPrecondition}
	ErrUnavailable        = &sentinel{KindUnavailable}
	ErrInternal           = &sentinel{KindInternal}
)

var sentinels = map[Kind]*sentinel{
	KindNotFound:           ErrNotFound,
	KindAlreadyExists:      ErrAlreadyExists,
	KindInvalidArgument:    ErrInvalidArgument,
	KindFailedPrecondition: ErrFailedPrecondition,
	KindUnavailable:        ErrUnavailable,
	KindInternal:           ErrInternal,
}

type sentinel struct{ kind Kind }

func (s *sentinel) Error() string { return string(s.kind) }

// kindError carries a message and its kind.
type kindError struct {
	kind Kind
	msg  string
	err  error // optional cause
}

func (e *kindError) Error() string {
	if e.err != nil && e.msg == "" {
		return e.err.Error()
	}
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *kindError) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.kind == e.kind
}

func (e *kindError) Unwrap() error { return e.err }

// New returns an error of the given kind with a formatted message. An
// unknown kind is treated as internal.
func New(kind Kind, format string, args ...any) error {
	if _, ok := sentinels[kind]; !ok {
		kind = KindInternal
	}
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Wrap marks err as being of the given kind, keeping its message and chain.
func Wrap(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := sentinels[kind]; !ok {
		kind = KindInternal
	}
	return &kindError{kind: kind, err: err}
}

// NotFound returns a not-found error.
func NotFound(format string, args ...any) error { return New(KindNotFound, format, args...) }

// AlreadyExists returns an already-exists error.
func AlreadyExists(format string, args ...any) error {
	return New(KindAlreadyExists, format, args...)
}

// InvalidArgument returns an invalid-argument error.
func InvalidArgument(format string, args ...any) error {
	return New(KindInvalidArgument, format, args...)
}

// FailedPrecondition returns a failed-precondition error.
func FailedPrecondition(format string, args ...any) error {
	return New(KindFailedPrecondition, format, args...)
}

// Unavailable returns an unavailable error.
func Unavailable(format string, args ...any) error { return New(KindUnavailable, format, args...) }

// KindOf reports the kind of err, or KindInternal when it has none.
func KindOf(err error) Kind {
	for kind, s := range sentinels {
		if kind != KindInternal && errors.Is(err, s) {
			return kind
		}
	}
	return KindInternal
}
