package kernel

import (
	"slices"
	"strings"
)

// aptEntry is one "deb" source: a URI and its suites.
type aptEntry struct {
	uri    string
	suites []string
}

// parseOneLine reads the classic format:
// "deb [options] URI SUITE COMPONENT...".
func parseOneLine(text string) []aptEntry {
	var entries []aptEntry
	for line := range strings.Lines(text) {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "deb" {
			continue
		}
		fields = skipOptions(fields[1:])
		if len(fields) >= 2 {
			entries = append(entries, aptEntry{uri: fields[0], suites: fields[1:2]})
		}
	}
	return entries
}

// skipOptions drops a leading "[arch=amd64 signed-by=...]" group.
func skipOptions(fields []string) []string {
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "[") {
		return fields
	}
	for i, f := range fields {
		if strings.HasSuffix(f, "]") {
			return fields[i+1:]
		}
	}
	return nil
}

// parseDeb822 reads the *.sources format: stanzas of Types, URIs, Suites.
func parseDeb822(text string) []aptEntry {
	var entries []aptEntry
	for _, st := range deb822Stanzas(text) {
		if strings.EqualFold(st["enabled"], "no") || !slices.Contains(strings.Fields(st["types"]), "deb") {
			continue
		}
		suites := strings.Fields(st["suites"])
		for _, uri := range strings.Fields(st["uris"]) {
			entries = append(entries, aptEntry{uri: uri, suites: suites})
		}
	}
	return entries
}

// deb822Stanzas splits text into stanzas of lower-cased field names;
// continuation lines are joined to their field with a space.
func deb822Stanzas(text string) []map[string]string {
	var stanzas []map[string]string
	cur, last := map[string]string{}, ""
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				stanzas = append(stanzas, cur)
			}
			cur, last = map[string]string{}, ""
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += " " + strings.TrimSpace(line)
			}
		default:
			key, value, _ := strings.Cut(line, ":")
			last = strings.ToLower(strings.TrimSpace(key))
			cur[last] = strings.TrimSpace(value)
		}
	}
	if len(cur) > 0 {
		stanzas = append(stanzas, cur)
	}
	return stanzas
}
