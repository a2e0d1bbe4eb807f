package image

import (
	"fmt"
	"slices"
	"strings"

	"banger/internal/progress"
)

// debianKeyring is what debootstrap checks the archive's Release file
// against. Passing it explicitly makes a host without it fail instead of
// debootstrap quietly skipping the signature check.
var debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// debootstrapArgs is debootstrap's command line for a recipe. cache and
// mirror may be empty.
func debootstrapArgs(r Recipe, keyring, cache, tree, mirror string) []string {
	pkgs := slices.Clone(r.Packages)
	slices.Sort(pkgs)
	args := []string{"--variant=" + r.Variant, "--keyring=" + keyring}
	if len(pkgs) > 0 {
		args = append(args, "--include="+strings.Join(slices.Compact(pkgs), ","))
	}
	if cache != "" {
		args = append(args, "--cache-dir="+cache)
	}
	args = append(args, r.Suite, tree)
	if mirror != "" {
		args = append(args, mirror)
	}
	return args
}

// debootstrapNotes turns debootstrap's output into progress notes,
// counting packages per phase ("Retrieving 37: libc6 2.36-9").
type debootstrapNotes struct {
	prog   progress.Func
	step   string
	counts map[string]int
}

// perPackage are the verbs debootstrap prints once per package.
var perPackage = []string{"Retrieving", "Validating", "Extracting", "Unpacking", "Configuring"}

func (n *debootstrapNotes) line(s string) {
	msg, ok := strings.CutPrefix(s, "I: ")
	if !ok {
		if w, ok := strings.CutPrefix(s, "W: "); ok {
			n.prog.Note(n.step, "warning: "+w)
		}
		return
	}
	verb, rest, _ := strings.Cut(msg, " ")
	if slices.Contains(perPackage, verb) && isPackage(rest) {
		if n.counts == nil {
			n.counts = map[string]int{}
		}
		n.counts[verb]++
		msg = fmt.Sprintf("%s %d: %s", verb, n.counts[verb], rest)
	}
	n.prog.Note(n.step, msg)
}

// isPackage tells what follows a verb about one package ("libc6
// 2.36-9", "libc6:amd64...") from index files ("Packages") and phases
// ("required packages...").
func isPackage(s string) bool {
	if p, ok := strings.CutSuffix(s, "..."); ok {
		return p != "" && !strings.Contains(p, " ")
	}
	switch s {
	case "InRelease", "Release", "Release.gpg", "Packages":
		return false
	}
	return s != ""
}
