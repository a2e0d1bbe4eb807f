package initramfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// moduleIndex says where each module of a kernel is and what it needs.
type moduleIndex struct {
	source  string            // what the index was read from, for errors
	paths   map[string]string // module name -> path relative to lib/modules/<kver>
	builtin map[string]bool   // names of modules built into the kernel
	depsOf  func(name string) ([]string, error)
}

// ResolveModules reads a modules.dep file and returns the paths (relative
// to its directory, as modules.dep gives them) of the named modules and
// everything they depend on, dependencies first, each once. Names match a
// file's base name without .ko and compression suffix, with '-' and '_'
// equivalent. A name that modules.builtin (beside modules.dep, if present)
// lists as built in is skipped; any other unknown name is an error.
func ResolveModules(modulesDep string, names []string) ([]string, error) {
	f, err := os.Open(modulesDep)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ix, err := parseModulesDep(f, modulesDep)
	if err != nil {
		return nil, err
	}
	if err := ix.readBuiltin(filepath.Join(filepath.Dir(modulesDep), "modules.builtin")); err != nil {
		return nil, err
	}
	return ix.resolve(names)
}

// loadIndex indexes the modules of a lib/modules/<kver> directory, from its
// modules.dep when depmod has written one, else from the modules
// themselves: a kernel package unpacked without running depmod has none.
func loadIndex(dir string) (*moduleIndex, error) {
	var ix *moduleIndex
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	switch {
	case err == nil:
		defer f.Close()
		ix, err = parseModulesDep(f, f.Name())
	case errors.Is(err, os.ErrNotExist):
		ix, err = scanModules(dir)
	}
	if err != nil {
		return nil, err
	}
	return ix, ix.readBuiltin(filepath.Join(dir, "modules.builtin"))
}

// parseModulesDep reads depmod's "path: dep-path dep-path..." lines.
func parseModulesDep(r io.Reader, source string) (*moduleIndex, error) {
	ix := &moduleIndex{source: source, paths: map[string]string{}, builtin: map[string]bool{}}
	deps := map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		path, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s line %d: no ':' in %q", source, n, line)
		}
		name := moduleName(path)
		ix.paths[name] = path
		for _, d := range strings.Fields(rest) {
			deps[name] = append(deps[name], moduleName(d))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", source, err)
	}
	ix.depsOf = func(name string) ([]string, error) { return deps[name], nil }
	return ix, nil
}

// readBuiltin notes the modules listed in a modules.builtin file, if any.
func (ix *moduleIndex) readBuiltin(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, line := range strings.Fields(string(b)) {
		ix.builtin[moduleName(line)] = true
	}
	return nil
}

// resolve orders names and their dependencies, dependencies first.
func (ix *moduleIndex) resolve(names []string) ([]string, error) {
	r := resolver{ix: ix, state: map[string]int{}}
	var errs []error
	for _, n := range names {
		errs = append(errs, r.visit(normalizeModule(n), nil))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r.order, nil
}

type resolver struct {
	ix    *moduleIndex
	state map[string]int // 1 while visiting, 2 once ordered
	order []string
}

func (r *resolver) visit(name string, chain []string) error {
	path, ok := r.ix.paths[name]
	switch {
	case r.state[name] == 2:
		return nil
	case r.state[name] == 1:
		return fmt.Errorf("kernel modules depend on each other in a cycle: %s", strings.Join(append(chain, name), " -> "))
	case !ok && r.ix.builtin[name]:
		return nil
	case !ok && len(chain) == 0:
		return fmt.Errorf("unknown kernel module %q: not in %s nor built in", name, r.ix.source)
	case !ok:
		return fmt.Errorf("kernel module %q, needed by %s, is not in %s", name, strings.Join(chain, " -> "), r.ix.source)
	}
	r.state[name] = 1
	deps, err := r.ix.depsOf(name)
	if err != nil {
		return err
	}
	for _, d := range deps {
		if err := r.visit(d, append(chain, name)); err != nil {
			return err
		}
	}
	r.state[name] = 2
	r.order = append(r.order, path)
	return nil
}

// moduleName turns a module's path into its name: the base name without
// .ko and compression suffix, '-' spelt '_' as the kernel does.
func moduleName(path string) string {
	name := filepath.Base(path)
	if i := strings.LastIndex(name, ".ko"); i >= 0 {
		name = name[:i]
	}
	return normalizeModule(name)
}

func normalizeModule(name string) string {
	return strings.ReplaceAll(name, "-", "_")
}
