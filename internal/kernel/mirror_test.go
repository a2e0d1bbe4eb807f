package kernel

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func fixtureMirrorFiles(aptDir string, debootstrap ...string) mirrorFiles {
	base := filepath.Join("testdata", "mirror")
	m := mirrorFiles{
		SourcesList: filepath.Join(base, aptDir, "sources.list"),
		SourcesDir:  filepath.Join(base, aptDir, "sources.list.d"),
	}
	for _, name := range debootstrap {
		m.Debootstrap = append(m.Debootstrap, filepath.Join(base, "debootstrap", name))
	}
	return m
}

func TestDefaultMirrorFromAptSources(t *testing.T) {
	cases := map[string]string{
		"oneline": "http://oneline.invalid/debian",
		"deb822":  "http://deb822.invalid/debian",
	}
	for dir, want := range cases {
		got, err := fixtureMirrorFiles(dir, "debootstrap").find()
		if err != nil || got != want {
			t.Fatalf("mirror from %s = %q, %v; want %q", dir, got, err, want)
		}
	}
}

func TestDefaultMirrorFromDebootstrap(t *testing.T) {
	got, err := fixtureMirrorFiles("empty", "sid", "functions", "debootstrap").find()
	if err != nil || got != "http://debootstrap.invalid/debian" {
		t.Fatalf("mirror = %q, %v; want debootstrap's DEF_MIRROR", got, err)
	}
	got, err = fixtureMirrorFiles("empty", "suite-with-default", "debootstrap").find()
	if err != nil || got != "http://suite.invalid/debian" {
		t.Fatalf("mirror = %q, %v; want the suite script's default_mirror", got, err)
	}
}

func TestDefaultMirrorNone(t *testing.T) {
	_, err := fixtureMirrorFiles("empty", "sid", "functions").find()
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "debian_mirror") {
		t.Fatalf("find = %v, want failed precondition telling to set debian_mirror", err)
	}
}
