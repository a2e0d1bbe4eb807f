package image

import (
	"slices"
	"testing"

	"banger/internal/progress"
)

func TestDebootstrapArgs(t *testing.T) {
	r := Recipe{Suite: "bookworm", Variant: "minbase", Packages: []string{"sudo", "git", "git"}}
	got := debootstrapArgs(r, "/k.gpg", "/cache", "/w/tree", "http://mirror.test/debian")
	want := []string{"--variant=minbase", "--keyring=/k.gpg", "--include=git,sudo", "--cache-dir=/cache", "bookworm", "/w/tree", "http://mirror.test/debian"}
	if !slices.Equal(got, want) {
		t.Errorf("args = %q\nwant   %q", got, want)
	}
	got = debootstrapArgs(Recipe{Suite: "bookworm", Variant: "minbase"}, "/k.gpg", "", "/w/tree", "")
	want = []string{"--variant=minbase", "--keyring=/k.gpg", "bookworm", "/w/tree"}
	if !slices.Equal(got, want) {
		t.Errorf("args = %q\nwant   %q", got, want)
	}
}

func TestDebootstrapNotes(t *testing.T) {
	var notes []string
	n := &debootstrapNotes{step: "debootstrap", prog: func(e progress.Event) {
		if e.Step != "debootstrap" {
			t.Errorf("note under step %q", e.Step)
		}
		notes = append(notes, e.Message)
	}}
	for _, l := range []string{
		"I: Retrieving InRelease",
		"I: Retrieving libacl1 2.3.1-3",
		"I: Retrieving libc6 2.36-9",
		"I: Unpacking required packages...",
		"I: Unpacking libc6:amd64...",
		"W: Cannot check Release signature",
		"dpkg: some noise",
		"I: Base system installed successfully.",
	} {
		n.line(l)
	}
	want := []string{
		"Retrieving InRelease",
		"Retrieving 1: libacl1 2.3.1-3",
		"Retrieving 2: libc6 2.36-9",
		"Unpacking required packages...",
		"Unpacking 1: libc6:amd64...",
		"warning: Cannot check Release signature",
		"Base system installed successfully.",
	}
	if !slices.Equal(notes, want) {
		t.Errorf("notes = %q\nwant    %q", notes, want)
	}
}
