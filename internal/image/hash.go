package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// buildVersion names the version of what Build does to a tree beyond the
// recipe (files written, units, trimming). Bump it whenever that changes,
// so cached builds made the old way are not reused.
const buildVersion = "banger-image-build/3"

// Hash identifies the image a recipe builds, together with the other
// inputs of a build (by convention the agent binary's sha256 and the
// kernel version, in that order). The order of packages and units does not
// matter; the order of extra does. It is the first 16 hex digits of a
// sha256.
func (r Recipe) Hash(extra ...string) string {
	canon := struct {
		Build  string
		Recipe Recipe
		Extra  []string
	}{buildVersion, r.canonical(), extra}
	if canon.Extra == nil {
		canon.Extra = []string{}
	}
	data, err := json.Marshal(canon)
	if err != nil {
		panic(err) // strings and bools always marshal
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:16]
}

// canonical sorts and deduplicates the recipe's sets.
func (r Recipe) canonical() Recipe {
	set := func(s []string) []string {
		s = slices.Clone(s)
		slices.Sort(s)
		s = slices.Compact(s)
		if s == nil {
			s = []string{}
		}
		return s
	}
	r.Packages, r.Enable, r.Disable, r.Mask = set(r.Packages), set(r.Enable), set(r.Disable), set(r.Mask)
	return r
}
