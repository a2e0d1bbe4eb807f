package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// walkTree calls fn for every command a user can reach, root included.
func walkTree(c *cobra.Command, fn func(*cobra.Command)) {
	if c.Hidden || c.Name() == "help" || strings.HasPrefix(c.Name(), "__") {
		return
	}
	fn(c)
	for _, sub := range c.Commands() {
		walkTree(sub, fn)
	}
}

func testRoot(t *testing.T) *cobra.Command {
	t.Helper()
	hermetic(t)
	return newRoot(newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}))
}

func TestEveryVerbHasAnExample(t *testing.T) {
	walkTree(testRoot(t), func(c *cobra.Command) {
		if c.HasSubCommands() {
			return // a group: its verbs have the examples
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		for _, line := range strings.Split(c.Example, "\n") {
			if !strings.HasPrefix(line, "  ") {
				t.Errorf("%q: example line %q is not indented like cobra's", c.CommandPath(), line)
			}
		}
	})
}

// A backquoted word in a flag's usage becomes its value's placeholder in
// --help: it must be one word, such as SNAPSHOT.
func TestFlagPlaceholdersAreWords(t *testing.T) {
	walkTree(testRoot(t), func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if name, _ := pflag.UnquoteUsage(f); strings.ContainsAny(name, " `") {
				t.Errorf("%s --%s shows %q as its value", c.CommandPath(), f.Name, name)
			}
		})
	})
}

// Every group, the root too, refuses an unknown subcommand with a
// non-zero status, instead of printing its help as a success.
func TestGroupsRefuseUnknownSubcommands(t *testing.T) {
	var groups []string
	walkTree(testRoot(t), func(c *cobra.Command) {
		if c.HasSubCommands() {
			groups = append(groups, c.CommandPath())
		}
	})
	if len(groups) < 8 {
		t.Fatalf("found only groups %q; is the tree wired up?", groups)
	}
	for _, g := range groups {
		args := append(strings.Fields(g)[1:], "no-such-verb")
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		want := `unknown command "no-such-verb" for "` + g + `"`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("banger %s: err = %v; want %s", strings.Join(args, " "), err, want)
			continue
		}
		if code := Report(&bytes.Buffer{}, err); code == 0 {
			t.Errorf("banger %s: exit 0", strings.Join(args, " "))
		}
		if stdout.Len() > 0 {
			t.Errorf("banger %s printed %q on stdout; want only the error", strings.Join(args, " "), stdout.String())
		}
		// Alone, a group shows its help and succeeds, as git's do.
		stdout.Reset()
		if err := Run(context.Background(), args[:len(args)-1], strings.NewReader(""), &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "Available Commands") {
			t.Errorf("banger %s alone: err = %v, stdout %q; want its help", g, err, stdout.String())
		}
	}
}

func TestUnknownSubcommandSuggests(t *testing.T) {
	hermetic(t)
	for _, tc := range []struct{ args, want string }{
		{"vm lst", "\tlist"},
		{"vm ps", "\tlist"},
		{"image pul", "\tpull"},
	} {
		err := Run(context.Background(), strings.Fields(tc.args), strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "Did you mean this?\n") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("banger %s: err = %v; want %q", tc.args, err, tc.want)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	hermetic(t)
	var flag, verb bytes.Buffer
	if err := Run(context.Background(), []string{"--version"}, strings.NewReader(""), &flag, &bytes.Buffer{}); err != nil {
		t.Fatalf("banger --version: %v", err)
	}
	if err := Run(context.Background(), []string{"version"}, strings.NewReader(""), &verb, &bytes.Buffer{}); err != nil {
		t.Fatalf("banger version: %v", err)
	}
	if flag.String() != verb.String() || !strings.HasPrefix(flag.String(), "banger ") {
		t.Fatalf("banger --version printed %q, banger version %q; want the same", flag.String(), verb.String())
	}
}

// vm run, vm exec and vm ssh exit 125 for banger's own failures, flag
// and argument errors included, so a script tells them from the guest
// command's status.
func TestGuestCommandsOwnFailuresExit125(t *testing.T) {
	hermetic(t)
	for _, args := range [][]string{
		{"vm", "run", "--no-such-flag"},
		{"vm", "run", "--vcpu", "many"},
		{"vm", "exec", "--no-such-flag", "box"},
		{"vm", "exec"},
		{"vm", "exec", "box", "uname"},
		{"vm", "exec", "box", "-e", "NOEQUALS", "--", "true"},
		{"vm", "ssh", "--no-such-flag", "box"},
		{"vm", "ssh", "box", "uname"},
	} {
		err := Run(context.Background(), args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		if code := Report(&bytes.Buffer{}, err); code != 125 {
			t.Errorf("banger %s: exit %d (%v); want 125", strings.Join(args, " "), code, err)
		}
	}
	// Other commands keep the usual 1.
	err := Run(context.Background(), []string{"vm", "list", "--no-such-flag"}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	var ee *ExitError
	if code := Report(&bytes.Buffer{}, err); code != 1 || errors.As(err, &ee) {
		t.Errorf("banger vm list --no-such-flag: exit %d (%v); want 1", code, err)
	}
}
