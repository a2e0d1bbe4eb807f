package label

import (
	"strings"
)

// A Selector picks VMs by their labels: each of its terms must match.
// A term is KEY=VALUE (the VM has KEY with that value) or KEY (the VM
// has KEY, with any value).
type Selector []Term

// Term is one condition of a Selector.
type Term struct {
	Key   string
	Value string
	Any   bool // any value matches: the term was KEY alone
}

// String is t as ParseSelector reads it.
func (t Term) String() string {
	if t.Any {
		return t.Key
	}
	return t.Key + "=" + t.Value
}

// ParseSelector reads terms, each KEY=VALUE or KEY. No terms select
// every VM.
func ParseSelector(terms []string) (Selector, error) {
	sel := make(Selector, 0, len(terms))
	for _, s := range terms {
		key, value, hasValue := strings.Cut(s, "=")
		if err := ValidateKey(key); err != nil {
			return nil, err
		}
		if hasValue {
			if err := ValidateValue(key, value); err != nil {
				return nil, err
			}
		}
		sel = append(sel, Term{Key: key, Value: value, Any: !hasValue})
	}
	return sel, nil
}

// Matches reports whether labels meet every term of s.
func (s Selector) Matches(labels map[string]string) bool {
	for _, t := range s {
		v, ok := labels[t.Key]
		if !ok || !t.Any && v != t.Value {
			return false
		}
	}
	return true
}

// Strings are s's terms as ParseSelector reads them.
func (s Selector) Strings() []string {
	out := make([]string, len(s))
	for i, t := range s {
		out[i] = t.String()
	}
	return out
}
