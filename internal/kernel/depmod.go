package kernel

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// module is one .ko file: its path relative to the modules dir and the
// names of the modules it needs.
type module struct {
	path string
	deps []string
}

// ensureModulesDep writes DIR/modules.dep when the package did not ship
// one. Debian's don't: depmod runs in their postinst. The format is
// depmod's: "kernel/a.ko: kernel/b.ko kernel/c.ko", all dependencies,
// ordered so that loading them last-to-first works.
func ensureModulesDep(dir string) error {
	dst := filepath.Join(dir, "modules.dep")
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	mods, err := scanModules(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, name := range sortedByPath(mods) {
		fmt.Fprintf(&b, "%s:", mods[name].path)
		for _, dep := range loadOrder(mods, name) {
			fmt.Fprintf(&b, " %s", dep)
		}
		b.WriteString("\n")
	}
	return os.WriteFile(dst, []byte(b.String()), 0o644)
}

// scanModules reads the .modinfo section of every .ko under dir.
func scanModules(dir string) (map[string]module, error) {
	mods := map[string]module{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".ko") {
			return err
		}
		name, deps, err := readModinfo(p)
		if err != nil {
			return fmt.Errorf("reading module %s: %w", p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		mods[name] = module{path: filepath.ToSlash(rel), deps: deps}
		return nil
	})
	return mods, err
}

// readModinfo returns a module's name and its "depends=" list.
func readModinfo(path string) (name string, deps []string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	name = strings.ReplaceAll(strings.TrimSuffix(filepath.Base(path), ".ko"), "-", "_")
	sec := f.Section(".modinfo")
	if sec == nil {
		return "", nil, errors.New("no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return "", nil, err
	}
	for kv := range bytes.SplitSeq(data, []byte{0}) {
		key, value, _ := strings.Cut(string(kv), "=")
		switch {
		case key == "name" && value != "":
			name = value
		case key == "depends" && value != "":
			deps = strings.Split(value, ",")
		}
	}
	return name, deps, nil
}

// loadOrder lists the paths of name's dependencies, transitively, each
// before the modules it needs. Dependencies missing from the tree are
// left out, as depmod does after warning.
func loadOrder(mods map[string]module, name string) []string {
	var post []string
	seen := map[string]bool{name: true}
	var visit func(string)
	visit = func(n string) {
		for _, d := range mods[n].deps {
			if m, ok := mods[d]; ok && !seen[d] {
				seen[d] = true
				visit(d)
				post = append(post, m.path)
			}
		}
	}
	visit(name)
	slices.Reverse(post)
	return post
}

func sortedByPath(mods map[string]module) []string {
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(mods[a].path, mods[b].path) })
	return names
}
