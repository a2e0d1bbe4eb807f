// Package label checks, edits and matches VM labels: KEY=VALUE pairs
// attached to a VM so that people and programs can find it again
// (`banger vm list --label`). Keys follow Kubernetes' rules, an optional
// DNS-subdomain prefix and a slash before a short name; values are
// freer, any printable text up to MaxValueBytes.
package label

import (
	"maps"
	"strings"
	"unicode"
	"unicode/utf8"

	"banger/internal/errdefs"
)

// Limits on a VM's labels.
const (
	MaxLabels     = 64  // labels on one VM
	MaxNameLen    = 63  // a key's name part
	MaxPrefixLen  = 253 // a key's prefix, a DNS subdomain
	MaxValueBytes = 256 // a value, in bytes of UTF-8
)

// keyRule is what a key must look like, as error messages say it.
const keyRule = "want [PREFIX/]NAME, NAME being at most 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, PREFIX a DNS name"

// ValidateKey checks a label key.
func ValidateKey(key string) error {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	switch {
	case key == "":
		return errdefs.InvalidArgument("empty label key: %s", keyRule)
	case hasPrefix && !validPrefix(prefix):
		return errdefs.InvalidArgument("label key %q: prefix %q is not a DNS name of at most %d characters: %s", key, prefix, MaxPrefixLen, keyRule)
	case len(name) > MaxNameLen:
		return errdefs.InvalidArgument("label key %q: its name is %d characters long, more than %d", key, len(name), MaxNameLen)
	case !validName(name):
		return errdefs.InvalidArgument("label key %q: %s", key, keyRule)
	}
	return nil
}

// validName reports whether s is a key's name part: letters, digits,
// '.', '_' and '-', starting and ending with a letter or digit.
func validName(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validPrefix reports whether s is a DNS subdomain: dot-separated
// labels of lowercase letters, digits and '-', none starting or ending
// with '-'.
func validPrefix(s string) bool {
	if s == "" || len(s) > MaxPrefixLen {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || len(part) > 63 || part[0] == '-' || part[len(part)-1] == '-' {
			return false
		}
		for i := range len(part) {
			if c := part[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ValidateValue checks the value of label key: printable UTF-8 (spaces
// included, no control characters), at most MaxValueBytes; empty is a
// value too.
func ValidateValue(key, value string) error {
	if len(value) > MaxValueBytes {
		return errdefs.InvalidArgument("label %s: its value is %d bytes long, more than %d", key, len(value), MaxValueBytes)
	}
	if !utf8.ValidString(value) {
		return errdefs.InvalidArgument("label %s: its value is not UTF-8 text", key)
	}
	for _, r := range value {
		if !unicode.IsPrint(r) {
			return errdefs.InvalidArgument("label %s: its value holds %q, which is not printable: use printable text", key, r)
		}
	}
	return nil
}

// Validate checks a VM's whole set of labels.
func Validate(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return errdefs.InvalidArgument("%d labels: a VM has at most %d", len(labels), MaxLabels)
	}
	for k, v := range labels {
		if err := ValidateKey(k); err != nil {
			return err
		}
		if err := ValidateValue(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Parse reads one KEY=VALUE and checks both.
func Parse(s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", errdefs.InvalidArgument("label %q: want KEY=VALUE", s)
	}
	if err := ValidateKey(key); err != nil {
		return "", "", err
	}
	return key, value, ValidateValue(key, value)
}

// ParseMap reads labels given as KEY=VALUE each, as --label takes them;
// a key given twice keeps its last value.
func ParseMap(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(args))
	for _, a := range args {
		k, v, err := Parse(a)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, Validate(m)
}

// Edit applies edits to labels, as `banger vm label` takes them:
// KEY=VALUE sets KEY, KEY- removes it (a key never ends with '-'). It
// returns the new set, labels itself being left alone.
func Edit(labels map[string]string, edits []string) (map[string]string, error) {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	for _, e := range edits {
		if k, ok := strings.CutSuffix(e, "-"); ok && !strings.Contains(e, "=") {
			if err := ValidateKey(k); err != nil {
				return nil, err
			}
			delete(out, k)
			continue
		}
		k, v, err := Parse(e)
		if err != nil {
			return nil, errdefs.InvalidArgument("%v, or KEY- to remove KEY", err)
		}
		out[k] = v
	}
	return out, Validate(out)
}
