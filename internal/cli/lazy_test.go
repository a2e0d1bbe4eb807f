package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestVerbsAreNamedAsTheirCommands(t *testing.T) {
	hermetic(t)
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	for group, verbs := range map[string][]verb{"banger": rootVerbs(a), "banger vm": vmVerbs(a)} {
		for _, v := range verbs {
			c := v.make(nil)
			if c.Name() != v.name || !slices.Equal(c.Aliases, v.aliases) {
				t.Errorf("%s: verb %q %q makes command %q %q", group, v.name, v.aliases, c.Name(), c.Aliases)
			}
		}
	}
}

// A command line finds the same command in the tree made for it as in the
// whole tree, under each of its names.
func TestTreeMadeForACommandLineFindsItsCommand(t *testing.T) {
	hermetic(t)
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	n := 0
	walkTree(newRoot(a), func(c *cobra.Command) {
		for _, line := range commandLines(c) {
			n++
			got, _, err := newRoot(a, line...).Find(line)
			if err != nil || got.CommandPath() != c.CommandPath() {
				t.Errorf("banger %s finds %v, %v; want %s", strings.Join(line, " "), got, err, c.CommandPath())
			}
		}
	})
	if n < 60 {
		t.Fatalf("tried only %d command lines; is the tree wired up?", n)
	}
}

// commandLines are the ways to name c on a command line: with each alias
// of it and of its parents.
func commandLines(c *cobra.Command) [][]string {
	if !c.HasParent() {
		return [][]string{nil}
	}
	var out [][]string
	for _, parent := range commandLines(c.Parent()) {
		for _, name := range append([]string{c.Name()}, c.Aliases...) {
			out = append(out, append(slices.Clip(parent), name))
		}
	}
	return out
}

// Each command's help, and the completion scripts, are the same from the
// tree made for the command line as from the whole tree.
func TestTreeMadeForACommandLinePrintsTheSame(t *testing.T) {
	hermetic(t)
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	var lines [][]string
	walkTree(newRoot(a), func(c *cobra.Command) {
		lines = append(lines, append(commandLines(c)[0], "--help"))
	})
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		lines = append(lines, []string{"completion", sh})
	}
	for _, line := range lines {
		lazy, whole := runTree(t, a, newRoot(a, line...), line), runTree(t, a, newRoot(a), line)
		if lazy == "" {
			t.Errorf("banger %s printed nothing", strings.Join(line, " "))
		}
		if lazy != whole {
			t.Errorf("banger %s prints, from the tree made for it:\n%s\nand from the whole tree:\n%s", strings.Join(line, " "), lazy, whole)
		}
	}
}

// runTree runs args through root, made for a, and returns what it
// printed.
func runTree(t *testing.T, a *app, root *cobra.Command, args []string) string {
	t.Helper()
	var out bytes.Buffer
	a.stdout = &out
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	if err := root.Execute(); err != nil {
		t.Fatalf("banger %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}
