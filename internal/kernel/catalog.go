package kernel

import (
	"strings"

	"banger/internal/errdefs"
)

// CatalogEntry is a kernel banger knows how to pull by name.
type CatalogEntry struct {
	Name        string
	Suite       string // Debian suite to resolve Package in
	Package     string
	Description string
}

// Catalog lists the kernels `banger kernel pull NAME` accepts.
var Catalog = []CatalogEntry{{
	Name:        "debian-6.1-cloud",
	Suite:       "bookworm",
	Package:     "linux-image-cloud-amd64",
	Description: "Debian 12 (bookworm) cloud kernel, Linux 6.1; its virtio drivers are modules, loaded by banger's initramfs",
}}

// Lookup finds a catalog entry by name. An unknown name is a NotFound
// error suggesting the closest known name.
func Lookup(name string) (CatalogEntry, error) {
	best, bestDist := "", 4 // suggest only within an edit distance of 3
	names := make([]string, 0, len(Catalog))
	for _, e := range Catalog {
		if e.Name == name {
			return e, nil
		}
		names = append(names, e.Name)
		if d := levenshtein(name, e.Name); d < bestDist {
			best, bestDist = e.Name, d
		}
	}
	known := strings.Join(names, ", ")
	if best != "" {
		return CatalogEntry{}, errdefs.NotFound("unknown kernel %q; did you mean %q? known kernels: %s", name, best, known)
	}
	return CatalogEntry{}, errdefs.NotFound("unknown kernel %q; known kernels: %s", name, known)
}

// levenshtein is the edit distance between a and b, by bytes.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
