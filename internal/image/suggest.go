package image

import "banger/internal/suggest"

// maxSuggestDistance is how far a typo may be from a name and still be
// suggested.
const maxSuggestDistance = 3

// closestName returns the candidate nearest to s, or "" when none is within
// maxSuggestDistance edits.
func closestName(s string, candidates []string) string {
	return suggest.Closest(s, candidates, maxSuggestDistance)
}
