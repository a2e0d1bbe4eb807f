package kernel

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"banger/internal/errdefs"
)

// Package is one binary package from a Debian archive's Packages index.
type Package struct {
	Name     string
	Version  string
	Filename string // path of the .deb relative to the mirror root
	Size     int64
	SHA256   string
}

// indexEntry is a Package plus the fields Resolve needs to follow it.
type indexEntry struct {
	Package
	Depends string
}

// index holds an archive's packages by name; a name may have several versions.
type index map[string][]indexEntry

// parseIndex reads the RFC 822 stanzas of a Packages file.
func parseIndex(r io.Reader) (index, error) {
	idx := index{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var cur indexEntry
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			idx.add(cur)
			cur = indexEntry{}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' || line[0] == '#' {
			continue // continuation of a field Resolve does not read
		}
		if err := cur.set(line); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading package index: %w", err)
	}
	idx.add(cur)
	return idx, nil
}

func (idx index) add(e indexEntry) {
	if e.Name != "" {
		idx[e.Name] = append(idx[e.Name], e)
	}
}

// set records one "Field: value" line.
func (e *indexEntry) set(line string) error {
	key, value, ok := strings.Cut(line, ":")
	if !ok {
		return fmt.Errorf("parsing package index: malformed line %q", line)
	}
	value = strings.TrimSpace(value)
	switch strings.ToLower(key) {
	case "package":
		e.Name = value
	case "version":
		e.Version = value
	case "filename":
		e.Filename = value
	case "sha256":
		e.SHA256 = strings.ToLower(value)
	case "depends":
		e.Depends = value
	case "size":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("parsing size of package %q: %w", e.Name, err)
		}
		e.Size = n
	}
	return nil
}

// maxHops bounds how many metapackages Resolve follows.
const maxHops = 4

// resolve finds name and follows its Depends on another linux-image-*
// package, so that a metapackage resolves to the versioned image it pulls in.
func (idx index) resolve(name string) (Package, error) {
	want := dependency{name: name}
	for range maxHops {
		e, err := idx.pick(want)
		if err != nil {
			return Package{}, err
		}
		next, ok := imageDependency(e.Depends, e.Name)
		if !ok {
			return e.Package, nil
		}
		want = next
	}
	return Package{}, fmt.Errorf("following %s: more than %d metapackages deep", name, maxHops)
}

// pick returns the entry matching d: its exact version for "(= V)",
// otherwise the newest.
func (idx index) pick(d dependency) (indexEntry, error) {
	entries := idx[d.name]
	if len(entries) == 0 {
		return indexEntry{}, errdefs.NotFound("package %s not in the index", d.name)
	}
	best := entries[0]
	for _, e := range entries {
		if d.op == "=" && e.Version == d.version {
			return e, nil
		}
		if compareVersions(e.Version, best.Version) > 0 {
			best = e
		}
	}
	if d.op == "=" {
		return indexEntry{}, errdefs.NotFound("package %s version %s not in the index", d.name, d.version)
	}
	return best, nil
}
