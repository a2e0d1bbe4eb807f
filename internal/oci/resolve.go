package oci

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"banger/internal/errdefs"
)

// resolve finds the image for plat behind ref, which may name an index.
// shown is the reference as the user wrote it, for messages.
func resolve(ctx context.Context, ref name.Reference, plat v1.Platform, shown string) (v1.Image, error) {
	desc, err := remote.Get(ref,
		remote.WithContext(ctx),
		remote.WithPlatform(plat),
		remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return nil, registryError(ctx, ref, shown, err)
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("reading image %s: %w", shown, err)
		}
		return img, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading image index %s: %w", shown, err)
	}
	return pickPlatform(ctx, idx, ref, plat, shown)
}

// pickPlatform selects plat's image from an index, listing what the index
// offers when plat is missing.
func pickPlatform(ctx context.Context, idx v1.ImageIndex, ref name.Reference, plat v1.Platform, shown string) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, registryError(ctx, ref, shown, err)
	}
	var have []string
	for _, m := range im.Manifests {
		if m.Platform == nil || !m.MediaType.IsImage() {
			continue
		}
		if m.Platform.Satisfies(plat) {
			img, err := idx.Image(m.Digest)
			if err != nil {
				return nil, registryError(ctx, ref, shown, err)
			}
			return img, nil
		}
		if m.Platform.OS != "unknown" {
			have = append(have, m.Platform.String())
		}
	}
	return nil, errdefs.NotFound("image %s has no %s variant (it has: %s)", shown, plat, strings.Join(have, ", "))
}

// registryError gives a registry failure its error kind and a hint.
func registryError(ctx context.Context, ref name.Reference, shown string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("resolving %s: %w", shown, ctx.Err())
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return errdefs.NotFound("image %s not found: check the repository name and tag", shown)
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return errdefs.NotFound("image %s not found, or %s refused access: for a private image, log in with `docker login %s`",
				shown, ref.Context().RegistryStr(), ref.Context().RegistryStr())
		case terr.StatusCode == http.StatusTooManyRequests || terr.StatusCode >= 500:
			return errdefs.Unavailable("registry %s cannot serve %s right now (%v): try again later", ref.Context().RegistryStr(), shown, err)
		}
		return fmt.Errorf("resolving %s: %w", shown, err)
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return errdefs.Unavailable("cannot reach registry %s for %s (%v): check the network and the registry address", ref.Context().RegistryStr(), shown, err)
	}
	return fmt.Errorf("resolving %s: %w", shown, err)
}

func hasCode(terr *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range terr.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}
