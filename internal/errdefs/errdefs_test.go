package errdefs

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindSurvivesWrapping(t *testing.T) {
	err := fmt.Errorf("looking up vm: %w", NotFound("vm %q not found", "box"))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("errors.Is(%v, ErrNotFound) = false", err)
	}
	if errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("a not-found error matched ErrAlreadyExists")
	}
	if got := KindOf(err); got != KindNotFound {
		t.Fatalf("KindOf = %q, want %q", got, KindNotFound)
	}
	if got, want := err.Error(), `looking up vm: vm "box" not found`; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
}

func TestWrapKeepsCause(t *testing.T) {
	cause := errors.New("disk full")
	err := Wrap(KindUnavailable, cause)
	if !errors.Is(err, cause) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("wrapped error lost its cause or kind: %v", err)
	}
	if err.Error() != "disk full" {
		t.Fatalf("message = %q", err.Error())
	}
}

func TestPlainErrorIsInternal(t *testing.T) {
	if got := KindOf(errors.New("boom")); got != KindInternal {
		t.Fatalf("KindOf(plain) = %q, want internal", got)
	}
	if got := KindOf(New("bogus", "x")); got != KindInternal {
		t.Fatalf("unknown kind mapped to %q, want internal", got)
	}
}
