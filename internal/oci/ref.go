package oci

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"banger/internal/errdefs"
)

const (
	refScheme  = "oci://"
	refExample = "oci://docker.io/library/debian:bookworm"
)

// ParseRef parses an image reference, with or without the oci:// prefix.
// Short names get Docker Hub defaults: "debian" is
// docker.io/library/debian:latest.
func ParseRef(s string) (name.Reference, error) {
	return parseRef(s)
}

func parseRef(s string, opts ...name.Option) (name.Reference, error) {
	raw := strings.TrimPrefix(s, refScheme)
	if raw == "" {
		return nil, errdefs.InvalidArgument("empty image reference: use a form like %s", refExample)
	}
	if strings.Contains(raw, "://") {
		return nil, errdefs.InvalidArgument("image reference %q: only the %s scheme is supported, as in %s", s, refScheme, refExample)
	}
	ref, err := name.ParseReference(raw, opts...)
	if err != nil {
		return nil, errdefs.InvalidArgument("invalid image reference %q (%v): use a form like %s or debian:bookworm", s, err, refExample)
	}
	return ref, nil
}
