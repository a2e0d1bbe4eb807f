package config

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"banger/internal/errdefs"
)

// Size is an amount of bytes, written in config files and flags with a
// binary unit: 512M, 8G, 16GiB.
type Size int64

// Binary size units.
const (
	KiB Size = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
	PiB
	EiB
)

// MinDiskSize is the smallest work disk banger will create.
const MinDiskSize = 512 * MiB

// maxSizeLen bounds the input ParseSize will look at, so a hostile string
// cannot make it do big-number arithmetic on thousands of digits.
const maxSizeLen = 64

var sizeUnits = []struct {
	letter byte
	size   Size
}{{'E', EiB}, {'P', PiB}, {'T', TiB}, {'G', GiB}, {'M', MiB}, {'K', KiB}}

const sizeHint = "use a number with a unit, like 512M, 8G or 16GiB"

// ParseSize reads a size such as "8G", "512M", "16GiB", "1.5G" or a plain
// byte count such as "1073741824". Units are binary (K is 1024 bytes) and
// case-insensitive; "B", "iB" and a space before the unit are allowed, so
// "16 GB" and "16GiB" mean the same. A decimal is accepted only when it comes
// to a whole number of bytes.
func ParseSize(s string) (Size, error) {
	size, err := parseSize(s)
	if err != nil {
		return 0, errdefs.InvalidArgument("invalid size %q: %s", s, err.Error())
	}
	return size, nil
}

func parseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return 0, fmt.Errorf("it is empty; %s", sizeHint)
	case len(s) > maxSizeLen:
		return 0, fmt.Errorf("it is too long; %s", sizeHint)
	case s[0] == '-':
		return 0, fmt.Errorf("it must not be negative; %s", sizeHint)
	}
	num, rest := splitNumber(s)
	unit, ok := parseUnit(strings.TrimLeft(rest, " "))
	if !ok || !validNumber(num) {
		return 0, fmt.Errorf("%s", sizeHint)
	}
	return scaleSize(num, unit)
}

// splitNumber splits s into its leading digits-and-dots and the rest.
func splitNumber(s string) (num, rest string) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	return s[:i], s[i:]
}

// validNumber accepts "12" and "1.5" but not "", ".5", "1." or "1.2.3".
func validNumber(num string) bool {
	whole, frac, hasDot := strings.Cut(num, ".")
	if whole == "" || strings.Contains(frac, ".") {
		return false
	}
	return !hasDot || frac != ""
}

// parseUnit maps "", "B", "K", "KB", "Ki", "KiB" (any case) and so on to a
// multiplier.
func parseUnit(u string) (Size, bool) {
	u = strings.ToUpper(u)
	if u == "" || u == "B" {
		return 1, true
	}
	suffix := u[1:]
	if suffix != "" && suffix != "B" && suffix != "I" && suffix != "IB" {
		return 0, false
	}
	for _, su := range sizeUnits {
		if su.letter == u[0] {
			return su.size, true
		}
	}
	return 0, false
}

// scaleSize multiplies the decimal num by unit exactly.
func scaleSize(num string, unit Size) (Size, error) {
	whole, frac, _ := strings.Cut(num, ".")
	n, _ := new(big.Int).SetString(whole+frac, 10)
	n.Mul(n, big.NewInt(int64(unit)))
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	q, r := n.QuoRem(n, den, new(big.Int))
	if r.Sign() != 0 {
		return 0, fmt.Errorf("it is not a whole number of bytes; use fewer decimals or a smaller unit")
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("it is too large; the limit is just under 8E")
	}
	return Size(q.Int64()), nil
}

// String returns the shortest exact form: 8G, 512M, 1536M, 4K, or a plain
// byte count such as 123.
func (s Size) String() string {
	if s < 0 {
		return "-" + sizeString(uint64(-(s+1))+1)
	}
	return sizeString(uint64(s))
}

func sizeString(n uint64) string {
	if n == 0 {
		return "0"
	}
	for _, su := range sizeUnits {
		if n%uint64(su.size) == 0 {
			return strconv.FormatUint(n/uint64(su.size), 10) + string(su.letter)
		}
	}
	return strconv.FormatUint(n, 10)
}

// MiB returns the size in mebibytes, rounded down.
func (s Size) MiB() int64 { return int64(s / MiB) }

// MarshalText writes the size as String does. A negative size is an error.
func (s Size) MarshalText() ([]byte, error) {
	if s < 0 {
		return nil, errdefs.InvalidArgument("invalid size %d: a size cannot be negative", int64(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a size as ParseSize does.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
