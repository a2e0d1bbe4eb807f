package kernel

import (
	"errors"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestLookup(t *testing.T) {
	e, err := Lookup("debian-6.1-cloud")
	if err != nil || e.Suite != "bookworm" || e.Package != "linux-image-cloud-amd64" {
		t.Fatalf("Lookup = %+v, %v", e, err)
	}
}

func TestLookupSuggestsClosest(t *testing.T) {
	_, err := Lookup("debian-6.1-clod")
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), `did you mean "debian-6.1-cloud"?`) {
		t.Fatalf("Lookup typo = %v, want not found with a suggestion", err)
	}
	_, err = Lookup("fedora")
	if strings.Contains(err.Error(), "did you mean") || !strings.Contains(err.Error(), "known kernels: debian-6.1-cloud") {
		t.Fatalf("Lookup unrelated = %v, want the known names and no suggestion", err)
	}
}
