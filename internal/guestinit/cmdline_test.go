package guestinit

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		name    string
		cmdline string
		want    bootParams
	}{
		{"defaults", "console=ttyS0 root=/dev/vda\n", bootParams{Root: "/dev/vda", FSType: "ext4", ReadOnly: true}},
		{"everything", `root=/dev/vdb rootfstype=xfs rootflags=noatime rw init=/lib/systemd/systemd quiet`,
			bootParams{Root: "/dev/vdb", FSType: "xfs", Flags: "noatime", Init: "/lib/systemd/systemd"}},
		{"last wins", "root=/dev/vda rw root=/dev/vdc ro", bootParams{Root: "/dev/vdc", FSType: "ext4", ReadOnly: true}},
		{"after -- belongs to init", "root=/dev/vda rw -- root=/dev/vdz ro", bootParams{Root: "/dev/vda", FSType: "ext4"}},
		{"quoted", `root=/dev/vda rootflags="a b" rw`, bootParams{Root: "/dev/vda", FSType: "ext4", Flags: "a b"}},
		{"overlay and work", "root=/dev/vda ro banger.overlay=/dev/vdb banger.work=/dev/vdc",
			bootParams{Root: "/dev/vda", FSType: "ext4", ReadOnly: true, Overlay: "/dev/vdb", Work: "/dev/vdc"}},
		{"clone and work", "root=/dev/vda rw banger.work=/dev/vdb",
			bootParams{Root: "/dev/vda", FSType: "ext4", Work: "/dev/vdb"}},
		{"banger's after -- belong to init", "root=/dev/vda -- banger.overlay=/dev/vdb",
			bootParams{Root: "/dev/vda", FSType: "ext4", ReadOnly: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCmdline(tt.cmdline)
			if err != nil {
				t.Fatalf("parseCmdline(%q): %v", tt.cmdline, err)
			}
			if got != tt.want {
				t.Errorf("parseCmdline(%q) = %+v, want %+v", tt.cmdline, got, tt.want)
			}
		})
	}
}

func TestParseCmdlineRejects(t *testing.T) {
	for cmdline, wantErr := range map[string]string{
		"console=ttyS0":                                                    "no root=",
		"root=LABEL=rootfs":                                                "only takes a device path",
		"root=/dev/vda rootfstype=":                                        "rootfstype= is empty",
		"root=/dev/vda init=sbin/init":                                     "absolute path",
		"root=/dev/vda -- root=/dev/vdb":                                   "", // accepted
		"root=/dev/vda banger.overlay=vdb":                                 "banger.overlay=vdb is not supported",
		"root=/dev/vda banger.work=LABEL=work":                             "banger.work=LABEL=work is not supported",
		"root=/dev/vda banger.overlay=/dev/vda":                            "also the root disk",
		"root=/dev/vda banger.work=/dev/vda":                               "also the root or upper disk",
		"root=/dev/vda banger.overlay=/dev/vdb banger.work=/dev/vdb":       "also the root or upper disk",
		"root=/dev/vda banger.overlay=/dev/vdb banger.work=/dev/vdc quiet": "",
	} {
		_, err := parseCmdline(cmdline)
		if wantErr == "" {
			if err != nil {
				t.Errorf("parseCmdline(%q): %v", cmdline, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("parseCmdline(%q) error = %v, want one containing %q", cmdline, err, wantErr)
		}
	}
}

func TestSplitCmdline(t *testing.T) {
	got := splitCmdline("  a=1\tb=\"x y\"  \"c d\" e=\n")
	want := []string{"a=1", "b=x y", "c d", "e="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("splitCmdline = %q, want %q", got, want)
	}
}

func TestInits(t *testing.T) {
	if got := (bootParams{}).inits(); !reflect.DeepEqual(got, defaultInits) {
		t.Errorf("inits without init= = %q, want %q", got, defaultInits)
	}
	if got := (bootParams{Init: "/x"}).inits(); !reflect.DeepEqual(got, []string{"/x"}) {
		t.Errorf("inits with init=/x = %q", got)
	}
}

func FuzzParseCmdline(f *testing.F) {
	f.Add("console=ttyS0 root=/dev/vda rw init=/sbin/init")
	f.Add(`root="/dev/v da" -- x`)
	f.Add("root=/dev/vda ro banger.overlay=/dev/vdb banger.work=/dev/vdc")
	f.Fuzz(func(t *testing.T, s string) {
		for _, arg := range splitCmdline(s) {
			if arg == "" && !strings.Contains(s, `"`) {
				t.Errorf("empty parameter from %q", s)
			}
		}
		p, err := parseCmdline(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(p.Root, "/dev/") {
			t.Errorf("parseCmdline(%q) accepted root %q", s, p.Root)
		}
		for _, dev := range []string{p.Overlay, p.Work} {
			if dev != "" && (!strings.HasPrefix(dev, "/dev/") || dev == p.Root) {
				t.Errorf("parseCmdline(%q) accepted disk %q (root %q)", s, dev, p.Root)
			}
		}
		if p.Work != "" && p.Work == p.Overlay {
			t.Errorf("parseCmdline(%q) accepted one disk as upper and work", s)
		}
	})
}
