package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"banger/internal/suggest"
)

// unknownKeyHint tells the user what to write instead of an unknown key
// found in the table at path: a near match, the right section, or the
// list of keys the table accepts.
func unknownKeyHint(path, key string, known []string) string {
	if c := closest(key, known); c != "" {
		return fmt.Sprintf("did you mean %s?", c)
	}
	if path == "" {
		if hint := otherSection(key, knownKeys(vmDefaultsFields), "the [vm_defaults] section"); hint != "" {
			return hint
		}
		if hint := otherSection(key, knownKeys(fileSyncFields), "a [[file_sync]] section"); hint != "" {
			return hint
		}
	}
	return "remove it, or use one of: " + strings.Join(known, ", ")
}

// otherSection suggests moving a top-level key into the section where it,
// or a key close to it, belongs.
func otherSection(key string, known []string, section string) string {
	switch c := closest(key, known); {
	case c == key:
		return fmt.Sprintf("%s belongs in %s", key, section)
	case c != "":
		return fmt.Sprintf("did you mean %s? It belongs in %s", c, section)
	}
	return ""
}

// knownKeys lists a table's keys in order, for messages.
func knownKeys[T any](fs fields[T]) []string { return slices.Sorted(maps.Keys(fs)) }

// closest returns the candidate the user most likely meant by s, or "" when
// none is near. Case and '-' versus '_' are ignored; a swapped pair of
// letters counts as one edit; a word that is the start of a longer key
// ("memory" for memory_mib) counts as a match.
func closest(s string, candidates []string) string {
	norm := func(x string) string { return strings.ReplaceAll(strings.ToLower(x), "-", "_") }
	s = norm(s)
	if s == "" || len(s) > 64 {
		return ""
	}
	best, bestDist := "", maxEdits(s)+1
	for _, c := range candidates {
		d := suggest.Distance(s, norm(c))
		if len(s) >= 3 && strings.HasPrefix(norm(c), s) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// maxEdits is how many edits a typo of s may contain and still be a match.
func maxEdits(s string) int {
	switch {
	case len(s) <= 4:
		return 1
	case len(s) <= 8:
		return 2
	}
	return 3
}
