// Package vmname validates and generates VM names. A name is a DNS label,
// because every VM is reachable as NAME.vm.
package vmname

import (
	"crypto/rand"
	"math/big"

	"banger/internal/errdefs"
)

// MaxLen is the longest name allowed: a DNS label's limit.
const MaxLen = 63

// Validate reports whether name is a usable VM name: 1 to 63 characters of
// lowercase letters, digits and '-', starting with a letter and not ending
// with '-'.
func Validate(name string) error {
	if name == "" {
		return errdefs.InvalidArgument("vm name is empty: use lowercase letters, digits and '-'")
	}
	if len(name) > MaxLen {
		return errdefs.InvalidArgument("vm name %q is %d characters long; the limit is %d", name, len(name), MaxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
		case (c >= '0' && c <= '9') || c == '-':
			if i == 0 {
				return errdefs.InvalidArgument("vm name %q must start with a lowercase letter", name)
			}
		default:
			return errdefs.InvalidArgument("vm name %q has %q: use lowercase letters, digits and '-'", name, string(rune(c)))
		}
	}
	if name[len(name)-1] == '-' {
		return errdefs.InvalidArgument("vm name %q must not end with '-'", name)
	}
	return nil
}

var (
	adjectives = []string{"amber", "brisk", "calm", "dusky", "eager", "fuzzy", "gentle", "hazy", "icy", "jolly", "keen", "lucid", "mellow", "nimble", "olive", "plucky", "quiet", "rapid", "sunny", "tidy", "vivid", "witty", "young", "zesty"}
	nouns      = []string{"otter", "heron", "badger", "falcon", "gecko", "lynx", "marmot", "newt", "ocelot", "puffin", "quokka", "raven", "stoat", "tapir", "urchin", "vole", "walrus", "yak", "zebra", "bison", "crane", "dingo", "egret", "ferret"}
)

// Generate returns a random adjective-noun name that taken does not report
// as in use, adding digits when the plain pairs keep colliding.
func Generate(taken func(string) bool) string {
	for i := 0; i < 20; i++ {
		name := pick(adjectives) + "-" + pick(nouns)
		if i >= 10 {
			name += "-" + randDigits(2)
		}
		if taken == nil || !taken(name) {
			return name
		}
	}
	return pick(adjectives) + "-" + pick(nouns) + "-" + randDigits(6)
}

func pick(list []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	if err != nil {
		return list[0]
	}
	return list[n.Int64()]
}

func randDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			n = big.NewInt(0)
		}
		b[i] = byte('0' + n.Int64())
	}
	return string(b)
}

// ValidateResource checks the name of an image or kernel: 1 to 63
// characters of lowercase letters, digits, '-', '.' and '_', starting with a
// letter or digit. kind names the resource in the error.
func ValidateResource(kind, name string) error {
	if name == "" || len(name) > MaxLen {
		return errdefs.InvalidArgument("%s name %q must be 1 to %d characters", kind, name, MaxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '-' || c == '.' || c == '_'))
		if !ok {
			return errdefs.InvalidArgument("%s name %q: use lowercase letters, digits, '-', '.' and '_', starting with a letter or digit", kind, name)
		}
	}
	return nil
}
