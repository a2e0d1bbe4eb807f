package guestabi

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// ModuleListPath is where the initramfs tells banger-init which kernel
// modules to load. The file lists absolute module paths, one a line, in
// load order; blank lines and lines starting with '#' are ignored.
const ModuleListPath = "/etc/banger-init.conf"

// moduleSuffixes are the module files banger-init can load.
var moduleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// ModuleCompression returns the compression suffix of a module file name
// ("" for a plain .ko, else ".xz", ".zst" or ".gz") and whether the name
// is a module banger-init can load at all.
func ModuleCompression(name string) (string, bool) {
	for _, s := range moduleSuffixes {
		if strings.HasSuffix(name, s) {
			return strings.TrimPrefix(s, ".ko"), true
		}
	}
	return "", false
}

// WriteModuleList writes the module list in the format ParseModuleList
// reads.
func WriteModuleList(w io.Writer, modules []string) error {
	var b strings.Builder
	b.WriteString("# kernel modules banger-init loads, in order\n")
	for _, m := range modules {
		if err := checkModulePath(m); err != nil {
			return err
		}
		b.WriteString(m + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ParseModuleList reads the module list written by WriteModuleList.
func ParseModuleList(r io.Reader) ([]string, error) {
	var mods []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := checkModulePath(line); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		mods = append(mods, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading module list: %w", err)
	}
	return mods, nil
}

func checkModulePath(p string) error {
	if !path.IsAbs(p) || path.Clean(p) != p || strings.ContainsAny(p, " \t\n") {
		return fmt.Errorf("module path %q must be a clean absolute path without spaces", p)
	}
	if _, ok := ModuleCompression(p); !ok {
		return fmt.Errorf("module path %q does not end in %s", p, strings.Join(moduleSuffixes, ", "))
	}
	return nil
}
