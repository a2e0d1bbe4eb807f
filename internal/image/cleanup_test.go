package image

import (
	"slices"
	"testing"
)

func TestParseMountsUnder(t *testing.T) {
	const mountinfo = `22 1 8:1 / / rw,relatime - ext4 /dev/vda rw
90 22 0:5 / /w/build\040one/tree/proc rw - proc proc rw
91 22 0:6 / /w/build\040one/tree/sys rw - sysfs sysfs rw
92 90 0:7 / /w/build\040one/tree/proc/sys/fs/binfmt_misc rw - binfmt_misc x rw
93 22 0:8 / /w/build\040one/tree2 rw - tmpfs tmpfs rw
`
	got := parseMountsUnder(mountinfo, "/w/build one/tree/")
	want := []string{"/w/build one/tree/proc/sys/fs/binfmt_misc", "/w/build one/tree/proc", "/w/build one/tree/sys"}
	if !slices.Equal(got, want) {
		t.Errorf("mounts = %q\nwant     %q", got, want)
	}
	if got := parseMountsUnder(mountinfo, "/elsewhere"); len(got) != 0 {
		t.Errorf("mounts under /elsewhere = %q", got)
	}
}

// The kernel escapes space, tab, newline and backslash in mount points.
func TestMountsUnderDecodesEscapes(t *testing.T) {
	const mountinfo = `90 22 0:5 / /s/tmp/a\040b\011c\012d\134e/proc rw - proc proc rw
`
	got := MountsUnder(mountinfo, "/s/tmp/a b\tc\nd\\e")
	if want := []string{"/s/tmp/a b\tc\nd\\e/proc"}; !slices.Equal(got, want) {
		t.Errorf("mounts = %q, want %q", got, want)
	}
}
