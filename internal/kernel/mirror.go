package kernel

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"banger/internal/errdefs"
)

// mirrorFiles names the host files DefaultMirror reads; tests point them
// at fixtures.
type mirrorFiles struct {
	SourcesList string   // one-line apt sources
	SourcesDir  string   // *.list (one-line) and *.sources (deb822)
	Debootstrap []string // debootstrap files that may name its default mirror
}

var hostMirrorFiles = mirrorFiles{
	SourcesList: "/etc/apt/sources.list",
	SourcesDir:  "/etc/apt/sources.list.d",
	Debootstrap: []string{
		"/usr/share/debootstrap/scripts/debian-common",
		"/usr/share/debootstrap/scripts/sid", // what current Debian suites link to
		"/usr/share/debootstrap/functions",
		"/usr/sbin/debootstrap", // sets DEF_MIRROR on current debootstrap
	},
}

// DefaultMirror finds the Debian mirror this host already uses, without
// naming one in banger: the first Debian "deb" entry in apt's sources,
// else debootstrap's default. It returns a FailedPrecondition error when
// neither names one.
func DefaultMirror() (string, error) { return hostMirrorFiles.find() }

func (m mirrorFiles) find() (string, error) {
	for _, e := range m.aptEntries() {
		if isDebianMirror(e.uri) && slices.ContainsFunc(e.suites, isDebianSuite) {
			return strings.TrimSuffix(e.uri, "/"), nil
		}
	}
	if u := m.debootstrapMirror(); u != "" {
		return u, nil
	}
	return "", errdefs.FailedPrecondition(
		"no Debian mirror found in %s, %s or debootstrap's scripts; set debian_mirror in banger's config",
		m.SourcesList, m.SourcesDir)
}

// aptEntries reads sources.list, then sources.list.d in name order.
// Unreadable files are skipped: this is a best-effort guess.
func (m mirrorFiles) aptEntries() []aptEntry {
	entries := parseOneLine(readFile(m.SourcesList))
	names, _ := filepath.Glob(filepath.Join(m.SourcesDir, "*"))
	slices.Sort(names)
	for _, name := range names {
		switch filepath.Ext(name) {
		case ".list":
			entries = append(entries, parseOneLine(readFile(name))...)
		case ".sources":
			entries = append(entries, parseDeb822(readFile(name))...)
		}
	}
	return entries
}

var debootstrapMirrorRE = regexp.MustCompile(`^\s*(?:default_mirror\s+|DEF_MIRROR=)"?([^"\s]+)`)

// debootstrapMirror greps debootstrap's files for "default_mirror URL"
// or DEF_MIRROR="URL".
func (m mirrorFiles) debootstrapMirror() string {
	for _, name := range m.Debootstrap {
		sc := bufio.NewScanner(strings.NewReader(readFile(name)))
		for sc.Scan() {
			match := debootstrapMirrorRE.FindStringSubmatch(sc.Text())
			if match != nil && isDebianMirror(match[1]) {
				return strings.TrimSuffix(match[1], "/")
			}
		}
	}
	return ""
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

// isDebianMirror accepts http(s) URLs whose path ends in /debian, which
// leaves out debian-security and third-party repositories.
func isDebianMirror(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/debian")
}

var debianSuites = []string{
	"stretch", "buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid",
	"oldoldstable", "oldstable", "stable", "testing", "unstable", "experimental",
}

// isDebianSuite accepts "bookworm", "bookworm-updates", "stable-backports"...
func isDebianSuite(s string) bool {
	base, _, _ := strings.Cut(s, "-")
	return slices.Contains(debianSuites, base)
}
