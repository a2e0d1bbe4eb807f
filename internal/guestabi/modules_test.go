package guestabi

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestModuleListRoundTrip(t *testing.T) {
	mods := []string{"/lib/modules/6.1.0-1-cloud-amd64/kernel/drivers/virtio/virtio_ring.ko", "/lib/modules/k/virtio-rng.ko.xz", "/m/a.ko.zst", "/m/b.ko.gz"}
	var b bytes.Buffer
	if err := WriteModuleList(&b, mods); err != nil {
		t.Fatal(err)
	}
	got, err := ParseModuleList(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, mods) {
		t.Errorf("ParseModuleList(WriteModuleList(x)) = %q, want %q", got, mods)
	}
}

func TestParseModuleListSkipsCommentsAndBlanks(t *testing.T) {
	got, err := ParseModuleList(strings.NewReader("# header\n\n  /a/b.ko  \n#/c.ko\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []string{"/a/b.ko"}) {
		t.Errorf("ParseModuleList = %q", got)
	}
}

func TestParseModuleListRejects(t *testing.T) {
	for _, line := range []string{"relative/x.ko", "/a/../b.ko", "/a/b.txt", "/a/b c.ko", "/a/b.ko.bz2"} {
		if _, err := ParseModuleList(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("ParseModuleList accepted %q", line)
		}
	}
	if err := WriteModuleList(&bytes.Buffer{}, []string{"x.ko"}); err == nil {
		t.Error("WriteModuleList accepted a relative path")
	}
}

func TestModuleCompression(t *testing.T) {
	for name, want := range map[string]string{"a.ko": "", "a.ko.xz": ".xz", "a.ko.zst": ".zst", "a.ko.gz": ".gz"} {
		if got, ok := ModuleCompression(name); !ok || got != want {
			t.Errorf("ModuleCompression(%q) = %q, %v; want %q, true", name, got, ok, want)
		}
	}
	for _, name := range []string{"a.ko.bz2", "a.o", "ko"} {
		if _, ok := ModuleCompression(name); ok {
			t.Errorf("ModuleCompression(%q) took it for a module", name)
		}
	}
}
