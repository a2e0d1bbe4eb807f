package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"strings"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// parseSHA256 checks a sha256 given by the user: 64 hex digits, with an
// optional "sha256:" prefix. It returns the digits in lower case, or ""
// when none was given.
func parseSHA256(s string) (string, error) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	if s == "" {
		return "", nil
	}
	if _, err := hex.DecodeString(s); err != nil || len(s) != sha256.Size*2 {
		return "", errdefs.InvalidArgument("--sha256 %q is not a sha256: give the 64 hex digits sha256sum prints", s)
	}
	return s, nil
}

// checkSHA256 hashes f from its start and compares the sum with want,
// then rewinds f for unpacking.
func checkSHA256(ctx context.Context, f *os.File, want string, prog progress.Func) error {
	const step = "verifying sha256"
	prog.Step(step)
	h := sha256.New()
	if _, err := io.CopyBuffer(h, prog.Reader(ctxReader{ctx, f}, step, sizeOf(f)), make([]byte, copyBufSize)); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errdefs.Unavailable("reading %s: %v", f.Name(), err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return errdefs.InvalidArgument(
			"bundle has sha256 %s, but --sha256 says %s: it was altered on the way or the checksum is wrong; nothing was imported",
			got, want)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return nil
}
