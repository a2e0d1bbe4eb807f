package kernel

import "strings"

// dependency is one package relation such as "linux-image-X (= 1.2-1)".
type dependency struct {
	name    string
	op      string // "", "=", ">=", "<<", ...
	version string
}

// parseDependency parses one alternative of a Depends field.
func parseDependency(s string) dependency {
	name, rest, _ := strings.Cut(s, "(")
	name, _, _ = strings.Cut(strings.TrimSpace(name), ":") // drop ":any"
	d := dependency{name: name}
	rest, _, _ = strings.Cut(rest, ")")
	rest = strings.TrimSpace(rest)
	version := strings.TrimLeft(rest, "<>=")
	d.op = rest[:len(rest)-len(version)]
	d.version = strings.TrimSpace(version)
	return d
}

// imageDependency finds the first linux-image-* package in a Depends field,
// other than self. Only the first alternative of each relation counts.
func imageDependency(depends, self string) (dependency, bool) {
	if depends == "" {
		return dependency{}, false
	}
	for rel := range strings.SplitSeq(depends, ",") {
		first, _, _ := strings.Cut(rel, "|")
		d := parseDependency(first)
		if strings.HasPrefix(d.name, "linux-image-") && d.name != self {
			return d, true
		}
	}
	return dependency{}, false
}
