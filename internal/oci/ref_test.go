package oci

import (
	"errors"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestParseRefAcceptsUserForms(t *testing.T) {
	cases := []struct{ in, want string }{
		{"oci://docker.io/library/debian:bookworm", "index.docker.io/library/debian:bookworm"},
		{"docker.io/library/debian:bookworm", "index.docker.io/library/debian:bookworm"},
		{"debian:bookworm", "index.docker.io/library/debian:bookworm"},
		{"debian", "index.docker.io/library/debian:latest"},
		{"oci://127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/app:v1"},
		{"127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64), "127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64)},
	}
	for _, c := range cases {
		ref, err := ParseRef(c.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", c.in, err)
			continue
		}
		if got := ref.Name(); got != c.want {
			t.Errorf("ParseRef(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseRefRejectsBadRefs(t *testing.T) {
	for _, in := range []string{"", "oci://", "Debian:Bookworm", "https://docker.io/library/debian", "debian:", "a b", "debian@sha256:123"} {
		_, err := ParseRef(in)
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ParseRef(%q) = %v, want an invalid-argument error", in, err)
			continue
		}
		if !strings.Contains(err.Error(), refExample) {
			t.Errorf("ParseRef(%q) error %q gives no example", in, err)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	f.Add("oci://docker.io/library/debian:bookworm")
	f.Add("debian@sha256:" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseRef(s)
		if err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Fatalf("ParseRef(%q) error has the wrong kind: %v", s, err)
		}
		if err == nil && ref.Context().RepositoryStr() == "" {
			t.Fatalf("ParseRef(%q) gave an empty repository", s)
		}
	})
}
