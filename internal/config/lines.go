package config

import (
	"strconv"

	"github.com/pelletier/go-toml/v2/unstable"
)

// A key path names one value in the document the way people write it:
// vm_defaults.vcpu, file_sync[2].mode. Array elements are numbered from 1.
// Parts that are not bare TOML keys are quoted, so two different keys never
// share a path.

// childKey returns the path of key inside the table at parent.
func childKey(parent, key string) string {
	if parent == "" {
		return keyPart(key)
	}
	return parent + "." + keyPart(key)
}

// elemKey returns the path of the i-th (0-based) element of the array at
// parent.
func elemKey(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i+1) + "]"
}

func formatKey(parts []string) string {
	path := ""
	for _, p := range parts {
		path = childKey(path, p)
	}
	return path
}

func keyPart(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		bare := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !bare {
			return strconv.Quote(k)
		}
	}
	return k
}

// lineIndex maps every key path in a document to the line where it first
// appears. Build it only from a document the TOML decoder accepted: it
// relies on the document being well formed.
type lineIndex struct {
	p      unstable.Parser
	lines  map[string]int
	arrays map[string]int // array-of-tables path -> elements so far
}

// indexLines walks the document's expressions, tracking the current table
// the same way a TOML decoder does.
func indexLines(data []byte) map[string]int {
	ix := &lineIndex{lines: map[string]int{}, arrays: map[string]int{}}
	ix.p.Reset(data)
	table := ""
	for ix.p.NextExpression() {
		expr := ix.p.Expression()
		switch expr.Kind {
		case unstable.Table:
			table = ix.header(expr, false)
		case unstable.ArrayTable:
			table = ix.header(expr, true)
		case unstable.KeyValue:
			ix.keyValue(table, expr)
		}
	}
	return ix.lines
}

// header records a [table] or [[array]] header and returns the path of the
// table it opens. Each part that names an array of tables refers to that
// array's last element, as TOML specifies.
func (ix *lineIndex) header(n *unstable.Node, array bool) string {
	it := n.Key()
	path := ""
	for it.Next() {
		k := it.Node()
		path = childKey(path, string(k.Data))
		ix.record(path, k)
		if array && it.IsLast() {
			ix.arrays[path]++
		}
		if count, ok := ix.arrays[path]; ok {
			path = elemKey(path, count-1)
			ix.record(path, k)
		}
	}
	return path
}

// keyValue records a key = value line under table, and any keys nested in
// its value.
func (ix *lineIndex) keyValue(table string, n *unstable.Node) {
	it := n.Key()
	path := table
	line := 0
	for it.Next() {
		path = childKey(path, string(it.Node().Data))
		line = ix.record(path, it.Node())
	}
	ix.value(path, line, n.Value())
}

// value records the keys inside an inline table or array value.
func (ix *lineIndex) value(path string, line int, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		children := v.Children()
		for children.Next() {
			if kv := children.Node(); kv.Kind == unstable.KeyValue {
				ix.keyValue(path, kv)
			}
		}
	case unstable.Array:
		children := v.Children()
		for i := 0; children.Next(); {
			elem := children.Node()
			if elem.Kind == unstable.Comment {
				continue
			}
			elemPath := elemKey(path, i)
			elemLine := ix.recordLine(elemPath, ix.lineOf(elem, line))
			ix.value(elemPath, elemLine, elem)
			i++
		}
	}
}

// record notes the line of node k for path, keeping the first one seen, and
// returns the line now recorded for path.
func (ix *lineIndex) record(path string, k *unstable.Node) int {
	return ix.recordLine(path, ix.lineOf(k, 0))
}

func (ix *lineIndex) recordLine(path string, line int) int {
	if first, ok := ix.lines[path]; ok {
		return first
	}
	ix.lines[path] = line
	return line
}

// lineOf returns the line where node n starts. The parser keeps no
// position for arrays, so an array starts where its first element does; an
// empty nested array gets fallback, the line of the key that holds it.
func (ix *lineIndex) lineOf(n *unstable.Node, fallback int) int {
	if n.Kind == unstable.Array {
		children := n.Children()
		for children.Next() {
			if c := children.Node(); c.Kind != unstable.Comment {
				return ix.lineOf(c, fallback)
			}
		}
		return fallback
	}
	if n.Raw.Length == 0 {
		return fallback
	}
	return ix.p.Shape(n.Raw).Start.Line
}
