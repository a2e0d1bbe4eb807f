package guestinit

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestConfRoundTrip(t *testing.T) {
	mods := []string{"/lib/modules/6.1.0-1-cloud-amd64/kernel/drivers/virtio/virtio_ring.ko", "/lib/modules/k/virtio-rng.ko.xz", "/m/a.ko.zst"}
	var b bytes.Buffer
	if err := WriteConf(&b, mods); err != nil {
		t.Fatal(err)
	}
	got, err := ParseConf(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, mods) {
		t.Errorf("ParseConf(WriteConf(x)) = %q, want %q", got, mods)
	}
}

func TestParseConfSkipsCommentsAndBlanks(t *testing.T) {
	got, err := ParseConf(strings.NewReader("# header\n\n  /a/b.ko  \n#/c.ko\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []string{"/a/b.ko"}) {
		t.Errorf("ParseConf = %q", got)
	}
}

func TestParseConfRejects(t *testing.T) {
	for _, line := range []string{"relative/x.ko", "/a/../b.ko", "/a/b.txt", "/a/b c.ko"} {
		if _, err := ParseConf(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("ParseConf accepted %q", line)
		}
	}
	if err := WriteConf(&bytes.Buffer{}, []string{"x.ko"}); err == nil {
		t.Error("WriteConf accepted a relative path")
	}
}
