// Package bundle reads and writes image bundles: one file (a tar stream,
// usually zstd-compressed) that carries an image's root filesystem, and
// optionally its kernel, from one machine to another, with a manifest that
// names every file and its sha256. docs/image-catalog.md describes the
// format.
package bundle

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"banger/internal/errdefs"
)

// FormatVersion is the only manifest format_version this package reads and
// the one it writes.
const FormatVersion = 1

// ManifestName is the name of a bundle's first tar entry.
const ManifestName = "manifest.json"

// Role says what a file in a bundle is for.
type Role string

// The file roles. A bundle holds exactly one rootfs; the others belong to
// the kernel and need Manifest.Kernel.
const (
	RoleRootfs  Role = "rootfs"  // the ext4 root filesystem image
	RoleBzImage Role = "bzimage" // compressed kernel (QEMU)
	RoleVmlinux Role = "vmlinux" // uncompressed ELF kernel (Firecracker)
	RoleInitrd  Role = "initrd"  // initramfs
	RoleModules Role = "modules" // one file of the kernel's module tree; any number
)

// limits on how many files of a role a bundle may hold; 0 means any number.
var roleLimits = map[Role]int{
	RoleRootfs: 1, RoleBzImage: 1, RoleVmlinux: 1, RoleInitrd: 1, RoleModules: 0,
}

// Manifest describes a bundle. It is the bundle's first entry, as JSON.
type Manifest struct {
	FormatVersion int         `json:"format_version"`
	Name          string      `json:"name"`
	Version       string      `json:"version"` // free text: a date, a recipe hash
	Description   string      `json:"description,omitempty"`
	Kernel        *KernelInfo `json:"kernel,omitempty"`
	Files         []File      `json:"files"`
}

// KernelInfo names the kernel a bundle carries. Its files are those with a
// kernel role (bzimage, vmlinux, initrd, modules).
type KernelInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// File is one entry of a bundle after the manifest.
type File struct {
	Path   string `json:"path"` // relative, slash-separated, clean
	Role   Role   `json:"role"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lowercase hex

	// SourcePath is where the file is on this machine: what Export opens,
	// and where Import put it. It never goes into the bundle.
	SourcePath string `json:"-"`
}

// Rootfs returns the bundle's root filesystem file.
func (m Manifest) Rootfs() File {
	f, _ := m.File(RoleRootfs)
	return f
}

// File returns the first file with the given role.
func (m Manifest) File(role Role) (File, bool) {
	for _, f := range m.Files {
		if f.Role == role {
			return f, true
		}
	}
	return File{}, false
}

// Validate checks the manifest: a supported format_version, usable image and
// kernel names, clean unique relative paths, known roles, sha256 digests,
// and exactly one rootfs.
func (m Manifest) Validate() error {
	if err := m.validateShape(); err != nil {
		return err
	}
	for _, f := range m.Files {
		if !isSHA256(f.SHA256) {
			return errdefs.InvalidArgument("manifest: file %s: sha256 %q is not 64 lowercase hex digits", f.Path, f.SHA256)
		}
		if f.Size < 0 {
			return errdefs.InvalidArgument("manifest: file %s: negative size %d", f.Path, f.Size)
		}
	}
	return nil
}

// validateShape checks everything but sizes and digests, which Export
// fills in.
func (m Manifest) validateShape() error {
	if m.FormatVersion != FormatVersion {
		return errdefs.InvalidArgument("unsupported bundle format_version %d: this banger reads version %d; upgrade banger to import it", m.FormatVersion, FormatVersion)
	}
	if err := validateName("image", m.Name); err != nil {
		return err
	}
	if m.Kernel != nil {
		if err := validateName("kernel", m.Kernel.Name); err != nil {
			return err
		}
	}
	return m.validateFiles()
}

func (m Manifest) validateFiles() error {
	counts := map[Role]int{}
	paths := map[string]bool{}
	for _, f := range m.Files {
		if err := validatePath(f.Path); err != nil {
			return err
		}
		if paths[f.Path] {
			return errdefs.InvalidArgument("manifest: file %s is listed twice", f.Path)
		}
		paths[f.Path] = true
		limit, ok := roleLimits[f.Role]
		if !ok {
			return errdefs.InvalidArgument("manifest: file %s has unknown role %q", f.Path, f.Role)
		}
		counts[f.Role]++
		if limit > 0 && counts[f.Role] > limit {
			return errdefs.InvalidArgument("manifest: more than %d file with role %s", limit, f.Role)
		}
		if f.Role != RoleRootfs && m.Kernel == nil {
			return errdefs.InvalidArgument("manifest: file %s has kernel role %s but the manifest names no kernel", f.Path, f.Role)
		}
	}
	if counts[RoleRootfs] != 1 {
		return errdefs.InvalidArgument("manifest: a bundle needs exactly one file with role rootfs")
	}
	if m.Kernel != nil && counts[RoleBzImage]+counts[RoleVmlinux] == 0 {
		return errdefs.InvalidArgument("manifest: kernel %s has no bzimage or vmlinux file", m.Kernel.Name)
	}
	// A path must not also be a directory of another path.
	for p := range paths {
		for dir := p; strings.Contains(dir, "/"); {
			dir = dir[:strings.LastIndex(dir, "/")]
			if paths[dir] {
				return errdefs.InvalidArgument("manifest: file %s is also the directory of %s", dir, p)
			}
		}
	}
	return nil
}

// validatePath accepts clean, relative, slash-separated paths without "..".
func validatePath(p string) error {
	if !fs.ValidPath(p) || p == "." || strings.Contains(p, `\`) {
		return errdefs.InvalidArgument("manifest: path %q must be relative and clean, without '..' or '\\'", p)
	}
	if p == ManifestName {
		return errdefs.InvalidArgument("manifest: path %q is reserved for the manifest", p)
	}
	return nil
}

// validateName follows the daemon's rule for image and kernel names
// (vmname.ValidateResource): 1 to 63 lowercase letters, digits, '-', '.'
// and '_', starting with a letter or digit, so every registered image can
// be exported and every imported one registered.
func validateName(kind, name string) error {
	if name == "" || len(name) > 63 {
		return errdefs.InvalidArgument("manifest: %s name %q must be 1 to 63 characters", kind, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '-' || c == '.' || c == '_'))
		if !ok {
			return errdefs.InvalidArgument("manifest: %s name %q: use lowercase letters, digits, '-', '.' and '_', starting with a letter or digit", kind, name)
		}
	}
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// decodeManifest parses and validates a manifest's JSON. Unknown fields are
// ignored: additions that old readers may skip keep format_version 1.
func decodeManifest(data []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, errdefs.InvalidArgument("bundle is corrupted: reading %s: %v", ManifestName, err)
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, fmt.Errorf("bundle %w", err)
	}
	return m, nil
}
