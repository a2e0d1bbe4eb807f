package kernel

import (
	"errors"
	"os"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func readIndexFixture(t *testing.T) index {
	t.Helper()
	f, err := os.Open("testdata/Packages")
	if err != nil {
		t.Fatalf("opening fixture: %v", err)
	}
	defer f.Close()
	idx, err := parseIndex(f)
	if err != nil {
		t.Fatalf("parseIndex: %v", err)
	}
	return idx
}

func TestResolveFollowsMetapackage(t *testing.T) {
	idx := readIndexFixture(t)
	p, err := idx.resolve("linux-image-cloud-amd64")
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	want := Package{
		Name:     "linux-image-6.1.0-99-cloud-amd64",
		Version:  "6.1.999-1",
		Filename: "pool/main/l/linux-signed-amd64/linux-image-6.1.0-99-cloud-amd64_6.1.999-1_amd64.deb",
		Size:     26713492,
		SHA256:   "5f0c9b8f2a7c1e3d4b6a8c0e2f4a6b8d0c2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a",
	}
	if p != want {
		t.Fatalf("resolve = %+v, want %+v", p, want)
	}
}

func TestResolvePicksNewestWithoutConstraint(t *testing.T) {
	idx := readIndexFixture(t)
	p, err := idx.resolve("linux-image-amd64")
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if p.Name != "linux-image-6.1.0-99-amd64" || p.Version != "6.1.999-1" {
		t.Fatalf("resolve = %s %s, want linux-image-6.1.0-99-amd64 6.1.999-1", p.Name, p.Version)
	}
}

func TestResolveUnknownPackage(t *testing.T) {
	idx := readIndexFixture(t)
	_, err := idx.resolve("linux-image-nope")
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "linux-image-nope") {
		t.Fatalf("resolve unknown = %v, want not found naming the package", err)
	}
}

func TestParseDependency(t *testing.T) {
	cases := map[string]dependency{
		"linux-image-6.1.0-99-cloud-amd64 (= 6.1.999-1)": {"linux-image-6.1.0-99-cloud-amd64", "=", "6.1.999-1"},
		" linux-base (>= 4.3~)":                          {"linux-base", ">=", "4.3~"},
		"kmod":                                           {name: "kmod"},
		"python3:any (<< 3.12)":                          {"python3", "<<", "3.12"},
	}
	for in, want := range cases {
		if got := parseDependency(in); got != want {
			t.Fatalf("parseDependency(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"6.1.999-1", "6.1.99-1", 1},
		{"6.1.10-1", "6.1.10-1", 0},
		{"1.0~rc1-1", "1.0-1", -1},
		{"1:0.1-1", "2.0-1", 1},
		{"1.0-1+deb12u1", "1.0-1", 1},
		{"1.0a", "1.0+", -1},
		{"6.1.0-07", "6.1.0-7", 0},
	}
	for _, c := range cases {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Fatalf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
