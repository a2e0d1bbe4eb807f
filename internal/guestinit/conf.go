package guestinit

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// ConfPath is where the initramfs tells banger-init which kernel modules to
// load. The file lists absolute module paths, one a line, in load order;
// blank lines and lines starting with '#' are ignored.
const ConfPath = "/etc/banger-init.conf"

// WriteConf writes the module list in the format ParseConf reads.
func WriteConf(w io.Writer, modules []string) error {
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

// ParseConf reads the module list written by WriteConf.
func ParseConf(r io.Reader) ([]string, error) {
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
	if _, ok := moduleCompression(p); !ok {
		return fmt.Errorf("module path %q does not end in .ko, .ko.xz, .ko.zst or .ko.gz", p)
	}
	return nil
}
