package kernel

import (
	"strings"

	"banger/internal/errdefs"
	"banger/internal/suggest"
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
	names := make([]string, 0, len(Catalog))
	for _, e := range Catalog {
		if e.Name == name {
			return e, nil
		}
		names = append(names, e.Name)
	}
	best := suggest.Closest(name, names, 3)
	known := strings.Join(names, ", ")
	if best != "" {
		return CatalogEntry{}, errdefs.NotFound("unknown kernel %q; did you mean %q? known kernels: %s", name, best, known)
	}
	return CatalogEntry{}, errdefs.NotFound("unknown kernel %q; known kernels: %s", name, known)
}
