package cli

import (
	"testing"

	"banger/internal/errdefs"
)

func TestParseCpArgs(t *testing.T) {
	cases := []struct {
		src, dst string
		want     VMCpOptions
	}{
		{"box:/etc/hosts", ".", VMCpOptions{VM: "box", GuestPath: "/etc/hosts", HostPath: "."}},
		{"./src", "box:app/", VMCpOptions{VM: "box", GuestPath: "/root/app/", HostPath: "./src", ToGuest: true}},
		{"src/.", "box:", VMCpOptions{VM: "box", GuestPath: "/root/", HostPath: "src/.", ToGuest: true}},
		{"./a:b", "box:/x", VMCpOptions{VM: "box", GuestPath: "/x", HostPath: "./a:b", ToGuest: true}},
	}
	for _, c := range cases {
		got, err := parseCpArgs(c.src, c.dst)
		if err != nil || got != c.want {
			t.Errorf("vm cp %s %s = %+v, %v; want %+v", c.src, c.dst, got, err, c.want)
		}
	}
	for _, bad := range [][2]string{{"a:/x", "b:/y"}, {"./x", "/tmp/y"}, {":/x", "y"}} {
		if _, err := parseCpArgs(bad[0], bad[1]); errdefs.KindOf(err) != errdefs.KindInvalidArgument {
			t.Errorf("vm cp %s %s: %v; want invalid argument", bad[0], bad[1], err)
		}
	}
}
