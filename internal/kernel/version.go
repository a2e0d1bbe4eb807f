package kernel

import (
	"cmp"
	"strconv"
	"strings"
)

// compareVersions orders two Debian version strings the way dpkg does
// ([epoch:]upstream[-revision]), returning -1, 0 or 1.
func compareVersions(a, b string) int {
	ea, ua, ra := splitVersion(a)
	eb, ub, rb := splitVersion(b)
	if c := cmp.Compare(ea, eb); c != 0 {
		return c
	}
	if c := compareFragment(ua, ub); c != 0 {
		return c
	}
	return compareFragment(ra, rb)
}

func splitVersion(v string) (epoch int, upstream, revision string) {
	if e, rest, ok := strings.Cut(v, ":"); ok {
		epoch, _ = strconv.Atoi(e)
		v = rest
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

// compareFragment compares alternating runs of non-digits and digits.
func compareFragment(a, b string) int {
	for a != "" || b != "" {
		var sa, sb string
		sa, a = splitRun(a, false)
		sb, b = splitRun(b, false)
		if c := compareLexical(sa, sb); c != 0 {
			return c
		}
		sa, a = splitRun(a, true)
		sb, b = splitRun(b, true)
		if c := compareNumeric(sa, sb); c != 0 {
			return c
		}
	}
	return 0
}

func splitRun(s string, digits bool) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) == digits {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// compareLexical sorts "~" before everything (even the end), then
// letters, then other characters.
func compareLexical(a, b string) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		if c := cmp.Compare(lexOrder(a, i), lexOrder(b, i)); c != 0 {
			return c
		}
	}
	return 0
}

func lexOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case c == '~':
		return -1
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return int(c)
	default:
		return int(c) + 256
	}
}

func compareNumeric(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
