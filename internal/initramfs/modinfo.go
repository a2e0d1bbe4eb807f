package initramfs

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"banger/internal/guestabi"
	"banger/internal/kmod"
)

// scanModules indexes the module files under dir by name and reads each
// needed module's dependencies from its .modinfo section when asked, as
// depmod would.
func scanModules(dir string) (*moduleIndex, error) {
	ix := &moduleIndex{source: dir + " (no modules.dep; scanned)", paths: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isModuleFile(d.Name()) {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if name := moduleName(rel); ix.paths[name] == "" {
			ix.paths[name] = filepath.ToSlash(rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scanning kernel modules in %s: %w", dir, err)
	}
	ix.depsOf = func(name string) ([]string, error) {
		return moduleDepends(filepath.Join(dir, ix.paths[name]))
	}
	return ix, nil
}

func isModuleFile(name string) bool {
	_, ok := guestabi.ModuleCompression(name)
	return ok
}

// moduleDepends reads the "depends=" entry of a module's .modinfo section.
func moduleDepends(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := kmod.Decompress(path, data)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		return nil, fmt.Errorf("reading module %s: %w", path, err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("module %s has no .modinfo section", path)
	}
	info, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading .modinfo of %s: %w", path, err)
	}
	var deps []string
	for _, field := range bytes.Split(info, []byte{0}) {
		if v, ok := bytes.CutPrefix(field, []byte("depends=")); ok && len(v) > 0 {
			for _, d := range strings.Split(string(v), ",") {
				deps = append(deps, normalizeModule(d))
			}
		}
	}
	return deps, nil
}
