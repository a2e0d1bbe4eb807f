package bundle

import (
	"errors"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

const sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func validManifest() Manifest {
	return Manifest{
		FormatVersion: FormatVersion,
		Name:          "debian-bookworm",
		Version:       "2024-06-01",
		Kernel:        &KernelInfo{Name: "debian-6.1", Version: "6.1.0-21"},
		Files: []File{
			{Path: "rootfs.ext4", Role: RoleRootfs, Size: 10, SHA256: sumA},
			{Path: "kernel/vmlinux", Role: RoleVmlinux, Size: 10, SHA256: sumA},
			{Path: "kernel/modules/a.ko", Role: RoleModules, Size: 1, SHA256: sumA},
			{Path: "kernel/modules/b.ko", Role: RoleModules, Size: 1, SHA256: sumA},
		},
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(m *Manifest)
		want   string // substring of the error; "" for valid
	}{
		{"valid", func(m *Manifest) {}, ""},
		{"no kernel", func(m *Manifest) { m.Kernel = nil; m.Files = m.Files[:1] }, ""},
		{"format version", func(m *Manifest) { m.FormatVersion = 2 }, "format_version 2"},
		{"empty name", func(m *Manifest) { m.Name = "" }, "image name"},
		{"uppercase name", func(m *Manifest) { m.Name = "Debian" }, "image name"},
		{"name with slash", func(m *Manifest) { m.Name = "a/b" }, "image name"},
		{"bad kernel name", func(m *Manifest) { m.Kernel.Name = "-k" }, "kernel name"},
		{"dotdot", func(m *Manifest) { m.Files[0].Path = "../rootfs.ext4" }, "relative and clean"},
		{"absolute", func(m *Manifest) { m.Files[0].Path = "/rootfs.ext4" }, "relative and clean"},
		{"unclean", func(m *Manifest) { m.Files[0].Path = "./rootfs.ext4" }, "relative and clean"},
		{"backslash", func(m *Manifest) { m.Files[0].Path = `a\b` }, "relative and clean"},
		{"empty path", func(m *Manifest) { m.Files[0].Path = "" }, "relative and clean"},
		{"manifest path", func(m *Manifest) { m.Files[0].Path = ManifestName }, "reserved"},
		{"duplicate", func(m *Manifest) { m.Files[1].Path = "rootfs.ext4" }, "listed twice"},
		{"file is a dir", func(m *Manifest) { m.Files[1].Path = "kernel/modules" }, "also the directory"},
		{"short sha", func(m *Manifest) { m.Files[0].SHA256 = "abc" }, "sha256"},
		{"upper sha", func(m *Manifest) { m.Files[0].SHA256 = strings.ToUpper(sumA) }, "sha256"},
		{"negative size", func(m *Manifest) { m.Files[0].Size = -1 }, "negative size"},
		{"unknown role", func(m *Manifest) { m.Files[1].Role = "firmware" }, "unknown role"},
		{"no rootfs", func(m *Manifest) { m.Files[0].Role = RoleInitrd }, "exactly one file with role rootfs"},
		{"two rootfs", func(m *Manifest) { m.Files[1].Role = RoleRootfs }, "role rootfs"},
		{"two vmlinux", func(m *Manifest) { m.Files[2].Role = RoleVmlinux }, "role vmlinux"},
		{"kernel file without kernel", func(m *Manifest) { m.Kernel = nil }, "names no kernel"},
		{"kernel without image", func(m *Manifest) { m.Files[1].Role = RoleInitrd }, "no bzimage or vmlinux"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := validManifest()
			tc.change(&m)
			err := m.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Validate = %v, want kind invalid_argument", err)
			}
		})
	}
}

func TestManifestLookups(t *testing.T) {
	m := validManifest()
	if got := m.Rootfs().Path; got != "rootfs.ext4" {
		t.Fatalf("Rootfs().Path = %q, want rootfs.ext4", got)
	}
	if f, ok := m.File(RoleVmlinux); !ok || f.Path != "kernel/vmlinux" {
		t.Fatalf("File(vmlinux) = %+v, %v", f, ok)
	}
	if _, ok := m.File(RoleInitrd); ok {
		t.Fatal("File(initrd) found a file that is not there")
	}
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"format_version":1,"name":"x","version":"1","files":[{"path":"r","role":"rootfs","size":1,"sha256":"` + sumA + `"}]}`))
	f.Add([]byte(`{"format_version":1,"files":[{"path":"../x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decodeManifest accepted a manifest that Validate refuses: %v", err)
		}
		for _, f := range m.Files {
			if strings.HasPrefix(f.Path, "/") || strings.Contains("/"+f.Path+"/", "/../") {
				t.Fatalf("decodeManifest accepted path %q", f.Path)
			}
		}
	})
}
