// Package image builds banger's root filesystem images: ext4 files made
// from Debian's archive with debootstrap on the user's machine, following
// recipes embedded in the binary, and checks images users bring themselves.
package image

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"banger/internal/errdefs"
)

// Recipe says how to build an image.
type Recipe struct {
	Suite    string   `toml:"suite"`    // Debian suite, "bookworm"
	Variant  string   `toml:"variant"`  // debootstrap variant, "minbase"
	Packages []string `toml:"packages"` // debootstrap --include list
	Enable   []string `toml:"enable"`   // systemd units to enable
	Disable  []string `toml:"disable"`  // units package scripts enabled that boot need not start
	Mask     []string `toml:"mask"`     // units masked so a throwaway VM boots fast
	Mise     bool     `toml:"mise"`     // install mise from the npm registry
	Kernel   string   `toml:"kernel"`   // default kernel name, "debian-6.1-cloud"
	Size     string   `toml:"size"`     // ext4 size, "4G" (the file is sparse)
}

// Entry is a named recipe in the catalog.
type Entry struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	Recipe      Recipe `toml:"recipe"`
}

//go:embed catalog/*.toml
var catalogFS embed.FS

// catalog is parsed once; the embedded files are checked by the tests, so
// a broken one can only come from a bad build.
var catalog = func() []Entry {
	entries, err := parseCatalog(catalogFS)
	if err != nil {
		panic(err)
	}
	return entries
}()

// Catalog returns the embedded catalog, sorted by name.
func Catalog() []Entry {
	out := make([]Entry, len(catalog))
	for i, e := range catalog {
		out[i] = e.clone()
	}
	return out
}

// Lookup finds a catalog entry by name. An unknown name is NotFound, with
// the nearest name suggested when there is one.
func Lookup(name string) (Entry, error) {
	names := make([]string, 0, len(catalog))
	for _, e := range catalog {
		if e.Name == name {
			return e.clone(), nil
		}
		names = append(names, e.Name)
	}
	if s := closestName(name, names); s != "" {
		return Entry{}, errdefs.NotFound("unknown image %q: did you mean %q? (see banger image list --catalog)", name, s)
	}
	return Entry{}, errdefs.NotFound("unknown image %q (see banger image list --catalog)", name)
}

func (e Entry) clone() Entry {
	e.Recipe.Packages = slices.Clone(e.Recipe.Packages)
	e.Recipe.Enable = slices.Clone(e.Recipe.Enable)
	e.Recipe.Disable = slices.Clone(e.Recipe.Disable)
	e.Recipe.Mask = slices.Clone(e.Recipe.Mask)
	return e
}

// parseCatalog reads and checks every catalog/*.toml file in fsys.
func parseCatalog(fsys fs.FS) ([]Entry, error) {
	files, err := fs.Glob(fsys, "catalog/*.toml")
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var e Entry
		if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&e); err != nil {
			return nil, fmt.Errorf("image catalog %s: %w", f, tomlError(err))
		}
		if want := path.Base(f); want != e.Name+".toml" {
			return nil, fmt.Errorf("image catalog %s: holds entry %q; name the file after it", f, e.Name)
		}
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("image catalog %s: %w", f, err)
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b Entry) int { return cmp.Compare(a.Name, b.Name) })
	return entries, nil
}

// tomlError names the unknown keys in a strict-mode error.
func tomlError(err error) error {
	var strict *toml.StrictMissingError
	if !errors.As(err, &strict) {
		return err
	}
	var keys []string
	for _, e := range strict.Errors {
		row, _ := e.Position()
		keys = append(keys, fmt.Sprintf("%s (line %d)", strings.Join(e.Key(), "."), row))
	}
	return fmt.Errorf("unknown keys: %s", strings.Join(keys, ", "))
}

var (
	entryNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
	suiteRE     = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	packageRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	unitRE      = regexp.MustCompile(`^[A-Za-z0-9_.:@-]+\.(service|socket|timer|target|path|mount)$`)
	sizeRE      = regexp.MustCompile(`^[1-9][0-9]*[MGT]$`)
	variants    = []string{"minbase", "buildd"}
)

// validate checks an entry well enough that its values are safe to pass
// to debootstrap, systemctl and mkfs as arguments.
func (e Entry) validate() error {
	r := e.Recipe
	switch {
	case !entryNameRE.MatchString(e.Name):
		return fmt.Errorf("bad image name %q", e.Name)
	case e.Description == "":
		return fmt.Errorf("image %s has no description", e.Name)
	case !suiteRE.MatchString(r.Suite):
		return fmt.Errorf("image %s: bad suite %q", e.Name, r.Suite)
	case !slices.Contains(variants, r.Variant):
		return fmt.Errorf("image %s: variant %q is not one of %v", e.Name, r.Variant, variants)
	case r.Kernel == "":
		return fmt.Errorf("image %s names no kernel", e.Name)
	case !sizeRE.MatchString(r.Size):
		return fmt.Errorf("image %s: size %q is not like 4G", e.Name, r.Size)
	}
	for _, p := range r.Packages {
		if !packageRE.MatchString(p) {
			return fmt.Errorf("image %s: bad package name %q", e.Name, p)
		}
	}
	if err := r.validateUnits(); err != nil {
		return fmt.Errorf("image %s: %w", e.Name, err)
	}
	return nil
}

// validateUnits checks the unit names, and that no unit is in two of the
// enable, disable and mask lists: the build applies them in that order, so
// a unit in two would silently end up as the last list says.
func (r Recipe) validateUnits() error {
	lists := []struct {
		name  string
		units []string
	}{{"enable", r.Enable}, {"disable", r.Disable}, {"mask", r.Mask}}
	seen := map[string]string{}
	for _, l := range lists {
		for _, u := range l.units {
			if !unitRE.MatchString(u) {
				return fmt.Errorf("bad unit name %q", u)
			}
			if prev, ok := seen[u]; ok && prev != l.name {
				return fmt.Errorf("unit %s is in both %s and %s: keep it in one list", u, prev, l.name)
			}
			seen[u] = l.name
		}
	}
	return nil
}
