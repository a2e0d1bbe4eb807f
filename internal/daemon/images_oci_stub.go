package daemon

import (
	"context"

	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
)

func (s *server) pullOCI(ctx context.Context, ref string, prog progress.Func) (store.Image, error) {
	return store.Image{}, errdefs.FailedPrecondition("pulling OCI images is not available yet")
}
