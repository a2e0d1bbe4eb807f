package config

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// decoder turns a generic TOML document into a Config, collecting every
// problem with the line it was found on.
type decoder struct {
	file  string
	lines map[string]int
	errs  []*Error
}

func (d *decoder) fail(key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: d.lines[key], Key: key, Msg: fmt.Sprintf(format, args...)})
}

// fields maps each key a table accepts to the function that decodes it.
type fields[T any] map[string]func(d *decoder, key string, v any, dst *T)

// decodeTable decodes the keys of tbl, found at path, into dst. Unknown keys are
// reported with the closest known key as a hint.
func decodeTable[T any](d *decoder, path string, tbl map[string]any, fs fields[T], dst *T) {
	for _, k := range slices.Sorted(maps.Keys(tbl)) {
		key := childKey(path, k)
		decode, ok := fs[k]
		if !ok {
			d.fail(key, "unknown key; %s", unknownKeyHint(path, k, knownKeys(fs)))
			continue
		}
		decode(d, key, tbl[k], dst)
	}
}

// str checks that v is a string accepted by check, then stores it in dst.
func (d *decoder) str(key string, v any, dst *string, check func(string) error) {
	s, ok := v.(string)
	if !ok {
		d.fail(key, "expected a string, got %s; put the value in double quotes", describe(v))
		return
	}
	if check != nil {
		if err := check(s); err != nil {
			d.fail(key, "%s", err.Error())
			return
		}
	}
	*dst = s
}

// boolean checks that v is true or false, then stores it in dst.
func (d *decoder) boolean(key string, v any, dst *bool) {
	b, ok := v.(bool)
	if !ok {
		d.fail(key, "expected true or false, got %s; write %s = true or %s = false, without quotes", describe(v), lastPart(key), lastPart(key))
		return
	}
	*dst = b
}

// integer checks that v is an integer in [lo, hi], then stores it in dst.
// example is a typical value to show in messages.
func (d *decoder) integer(key string, v any, dst **int, lo, hi, example int64) {
	n, ok := v.(int64)
	if !ok {
		fix := "write a whole number"
		if _, quoted := v.(string); quoted {
			fix = "write the number without quotes"
		}
		d.fail(key, "expected a whole number from %d to %d, got %s; %s, like %s = %d",
			lo, hi, describe(v), fix, lastPart(key), example)
		return
	}
	if n < lo || n > hi {
		d.fail(key, "%d is out of range; use a whole number from %d to %d", n, lo, hi)
		return
	}
	i := int(n)
	*dst = &i
}

// table checks that v is a table.
func (d *decoder) table(key string, v any) (map[string]any, bool) {
	tbl, ok := v.(map[string]any)
	if !ok {
		d.fail(key, "expected a table, got %s; write it as a [%s] section", describe(v), key)
	}
	return tbl, ok
}

// describe names the TOML type of v for messages, quoting short strings so
// the user can spot them.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) <= 40 {
			return fmt.Sprintf("the string %q", v)
		}
		return "a string"
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the float %v", v)
	case bool:
		return fmt.Sprintf("the boolean %t", v)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time, toml.LocalDate, toml.LocalTime, toml.LocalDateTime:
		return "a date or time"
	}
	return fmt.Sprintf("a value of type %T", v)
}

// lastPart returns the last part of a key path, for examples in messages.
func lastPart(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '.' || key[i] == ']' {
			return key[i+1:]
		}
	}
	return key
}
