package kernel

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"banger/internal/errdefs"
)

// release is what a suite's verified InRelease file says: which suite it
// is, until when it holds, and the size and SHA256 of every index file.
// It is the root of trust for a pull: the Packages index is checked
// against it, and each .deb against the index.
type release struct {
	suite, codename string
	validUntil      time.Time // zero when the file sets none
	files           map[string]fileSum
}

// fileSum is one line of InRelease's SHA256 field.
type fileSum struct {
	sha256 string
	size   int64
}

// maxReleaseSize bounds an InRelease file; Debian's are a few hundred KB.
const maxReleaseSize = 16 << 20

// release fetches dists/SUITE/InRelease, checks its signature against
// the keyring, and refuses one that is for another suite or has expired.
func (s Source) release(ctx context.Context) (release, error) {
	keys, err := loadKeyring(s.keyring())
	if err != nil {
		return release{}, err
	}
	url := s.url("dists/" + s.Suite + "/InRelease")
	data, err := s.fetchAtMost(ctx, url, maxReleaseSize)
	if err != nil {
		return release{}, fmt.Errorf("fetching the signed release file: %w", err)
	}
	if len(data) > maxReleaseSize {
		return release{}, errdefs.Unavailable("%s is larger than %d bytes, which no Debian release file is; set another debian_mirror", url, maxReleaseSize)
	}
	text, err := verifyClearsigned(data, keys, s.now())
	if err != nil {
		return release{}, errdefs.FailedPrecondition("verifying %s against %s: %v; %s", url, s.keyring(), err, signatureHint(err))
	}
	rel, err := parseRelease(string(text))
	if err != nil {
		return release{}, errdefs.FailedPrecondition("reading %s: %v", url, err)
	}
	if err := rel.check(s.Suite, s.now()); err != nil {
		return release{}, fmt.Errorf("%s: %w", url, err)
	}
	return rel, nil
}

// fetchAtMost reads an answer into memory, up to limit bytes and one
// more, which tells the caller the answer is too long.
func (s Source) fetchAtMost(ctx context.Context, url string, limit int64) ([]byte, error) {
	resp, err := s.get(ctx, url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, errdefs.Unavailable("reading %s: %v", url, err)
	}
	return data, nil
}

// parseRelease reads the fields of a Release file banger relies on.
func parseRelease(text string) (release, error) {
	stanzas := deb822Stanzas(text)
	if len(stanzas) == 0 {
		return release{}, fmt.Errorf("the release file is empty")
	}
	st := stanzas[0]
	rel := release{suite: st["suite"], codename: st["codename"]}
	if v := st["valid-until"]; v != "" {
		t, err := parseReleaseDate(v)
		if err != nil {
			return release{}, fmt.Errorf("reading Valid-Until: %w", err)
		}
		rel.validUntil = t
	}
	files, err := parseSums(st["sha256"])
	if err != nil {
		return release{}, err
	}
	rel.files = files
	return rel, nil
}

// parseSums reads the "HASH SIZE PATH" triples of a SHA256 field.
func parseSums(field string) (map[string]fileSum, error) {
	f := strings.Fields(field)
	if len(f) == 0 || len(f)%3 != 0 {
		return nil, fmt.Errorf("the release file has no well-formed SHA256 field")
	}
	files := make(map[string]fileSum, len(f)/3)
	for i := 0; i < len(f); i += 3 {
		size, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil || size < 0 || len(f[i]) != 64 {
			return nil, fmt.Errorf("malformed SHA256 entry %q", strings.Join(f[i:i+3], " "))
		}
		files[f[i+2]] = fileSum{sha256: strings.ToLower(f[i]), size: size}
	}
	return files, nil
}

// parseReleaseDate reads the RFC 2822 dates of Release files.
func parseReleaseDate(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised date %q", v)
}

// check refuses a release for another suite, which a mirror could serve to
// roll a host back to an older one, and one past its Valid-Until, which a
// mirror could replay to hide fixes.
func (r release) check(suite string, now time.Time) error {
	if suite != r.suite && suite != r.codename {
		return errdefs.FailedPrecondition(
			"the signed release is for suite %q (codename %q), not %q: the mirror serves another suite under this name; set another debian_mirror",
			r.suite, r.codename, suite)
	}
	if !r.validUntil.IsZero() && now.After(r.validUntil) {
		return errdefs.FailedPrecondition(
			"the signed release expired at %s (now %s): the mirror is stale or replaying an old release; try another debian_mirror, or fix this host's clock if it is wrong",
			r.validUntil.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}
