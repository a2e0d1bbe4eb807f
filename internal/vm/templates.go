package vm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/keylock"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/version"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
	"banger/internal/vmm/qemu"
)

// A warm template is a guest booted once to agent-ready and saved: its
// memory and device state, and the root disk that matches it. VMs of the
// same image, kernel, vCPUs and memory are restored from it instead of
// booting (see docs/adr/0006-warm-starts.md).
const (
	templateFormat = "banger-template/4"
	templateState  = paths.StateName
	templateMeta   = paths.TemplateMetaName
	// templateMemory is the template guest's RAM, where the driver keeps
	// it in a file of its own (QEMU): its state then holds the devices
	// only, and clones map the file privately, sharing the pages they do
	// not write (see docs/adr/0014-template-memory.md).
	templateMemory = "memory"
	// templateWorkSize is the apparent size of the template's stand-in
	// work disk. The guest learns a block device's size when it finds it,
	// and a restored guest keeps believing the template's, so the stand-in
	// is as large as any work disk will be: a clone's smaller disk is fine,
	// its filesystem never reaches past its own end.
	templateWorkSize = 4 << 40
	// templateMAC is the NIC address inside every template; a clone's
	// agent changes it to the VM's own.
	templateMAC = "06:00:00:00:00:01"
	// templateHostname is the template guest's name until a clone renames it.
	templateHostname = "banger-template"
)

// TemplateInfo describes a saved template.
type TemplateInfo struct {
	Format    string    `json:"format"`
	Key       string    `json:"key"`
	Image     string    `json:"image"`
	Kernel    string    `json:"kernel"`
	VCPU      int       `json:"vcpu"`
	MemoryMiB int       `json:"memory_mib"`
	VMM       string    `json:"vmm"`
	Accel     string    `json:"accel"`
	RootMode  string    `json:"root_mode"`
	Cmdline   string    `json:"cmdline"`
	Created   time.Time `json:"created"`
	// Bytes is what the template takes on disk.
	Bytes int64 `json:"bytes"`
	// Memory is the file of the guest's RAM in the template's directory,
	// when its state leaves the RAM out.
	Memory string `json:"memory,omitempty"`
}

// templateKey names the template of a combination. It changes when the
// image's or kernel's files change, or banger's version (and with it the
// guest agent), so a stale template is never restored.
func templateKey(im store.Image, k store.Kernel, vcpu, memoryMiB int, vmmName, accel string) string {
	h := sha256.New()
	fmt.Fprintln(h, templateFormat, version.Version, vmmName, accel, vcpu, memoryMiB)
	fmt.Fprint(h, filesKey(im, k))
	fmt.Fprintln(h, im.Name, im.Digest, k.Name)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// accelFor is the accelerator a driver will use, for the template key.
func accelFor(drv vmm.Driver) string {
	if _, ok := drv.(*qemu.Driver); ok {
		a := qemu.DetectAccel()
		return a.Name + a.ExtraCmdline // the guest's clock rate is part of the machine
	}
	return "kvm"
}

// loadTemplate returns the template in dir, if complete.
func loadTemplate(dir string) (TemplateInfo, bool) {
	var t TemplateInfo
	b, err := os.ReadFile(filepath.Join(dir, templateMeta))
	if err != nil || json.Unmarshal(b, &t) != nil || t.Format != templateFormat {
		return TemplateInfo{}, false
	}
	if _, err := os.Stat(filepath.Join(dir, templateState)); err != nil {
		return TemplateInfo{}, false
	}
	if t.Memory != "" {
		if _, err := os.Stat(filepath.Join(dir, t.Memory)); err != nil || filepath.Base(t.Memory) != t.Memory {
			return TemplateInfo{}, false
		}
	}
	return t, true
}

// templateRootName is the root disk file of a template made in mode.
func templateRootName(mode string) string {
	if mode == string(vmdisk.ModeClone) {
		return vmdisk.CloneName
	}
	return vmdisk.UpperName
}

// templateStore holds the warm templates: it lists, makes and removes
// them, and undoes builds a crash cut short (see recover.go).
type templateStore struct {
	dirs   paths.Dirs
	layout *layout
	net    *netAttach
	log    *slog.Logger
	locks  keylock.Map // "template/KEY"
}

// list returns every complete template, for image.
func (ts *templateStore) list(image string) []TemplateInfo {
	entries, _ := os.ReadDir(ts.dirs.TemplatesDir())
	var out []TemplateInfo
	for _, e := range entries {
		if t, ok := loadTemplate(filepath.Join(ts.dirs.TemplatesDir(), e.Name())); ok && (image == "" || t.Image == image) {
			out = append(out, t)
		}
	}
	return out
}

// remove deletes image's templates (all of them for "").
func (ts *templateStore) remove(image string) error {
	entries, err := os.ReadDir(ts.dirs.TemplatesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, e := range entries {
		dir := filepath.Join(ts.dirs.TemplatesDir(), e.Name())
		t, ok := loadTemplate(dir)
		if image == "" || (ok && t.Image == image) || !ok {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// Templates lists image's complete warm templates (every image's for "").
func (m *Manager) Templates(image string) []TemplateInfo { return m.templates.list(image) }

// RemoveTemplates deletes image's warm templates, for a removed image.
func (m *Manager) RemoveTemplates(image string) error { return m.templates.remove(image) }

// WarmImage makes the warm template of an image at one size, as the first
// VM of that combination would.
func (m *Manager) WarmImage(ctx context.Context, image string, vcpu, memoryMiB int, prog progress.Func) (TemplateInfo, error) {
	if vcpu < 1 || memoryMiB < 128 {
		return TemplateInfo{}, errdefs.InvalidArgument("a template needs at least 1 vcpu and 128 MiB")
	}
	if err := checkHostFits(config.DetectHost(), vcpu, memoryMiB); err != nil {
		return TemplateInfo{}, err
	}
	vmmName, err := m.layout.pickVMM()
	if err != nil {
		return TemplateInfo{}, err
	}
	im, k, err := m.lib.Resolve(ctx, image, "", prog)
	if err != nil {
		return TemplateInfo{}, err
	}
	t, _, err := m.templates.ensure(ctx, im, k, vcpu, memoryMiB, vmmName, prog)
	return t, err
}

// templateTapName is the tap of the template with key.
func templateTapName(key string) string { return "bg-t" + key[:8] }
