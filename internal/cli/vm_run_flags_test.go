package cli

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runCmd is vm run's command, its flags parsed from args.
func runCmd(t *testing.T, args ...string) *cobra.Command {
	t.Helper()
	hermetic(t)
	cmd := newVMRunCmd(newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}))
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return cmd
}

func TestVMRunTakesDockerFlags(t *testing.T) {
	cmd := runCmd(t, "-it", "-e", "A=1", "--env", "B=two words", "-w", "/tmp", "-d")
	f := cmd.Flags()
	for _, name := range []string{"interactive", "tty", "detach"} {
		if v, _ := f.GetBool(name); !v {
			t.Errorf("--%s not set by -it ... -d", name)
		}
	}
	if env, _ := f.GetStringArray("env"); strings.Join(env, ",") != "A=1,B=two words" {
		t.Errorf("env = %q, want both -e values in order", env)
	}
	if dir, _ := f.GetString("workdir"); dir != "/tmp" {
		t.Errorf("workdir = %q, want /tmp", dir)
	}
}

func TestVMRunMemoryUnits(t *testing.T) {
	for in, want := range map[string]string{"4G": "4096", "512M": "512", "2048": "2048", "1.5GiB": "1536"} {
		if got := runCmd(t, "--memory", in).Flags().Lookup("memory").Value.String(); got != want {
			t.Errorf("--memory %s = %s MiB, want %s", in, got, want)
		}
	}
}

// TestVMRunRefusesBadFlags checks the refusals come before any daemon is
// asked (there is none), with status 125 and the reason.
func TestVMRunRefusesBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--memory", "4Q"}, `invalid memory "4Q"`},
		{[]string{"--memory", "100K"}, "not a whole number of MiB"},
		{[]string{"--memory", "64M"}, "at least 128 MiB"},
		{[]string{"--disk-size", "1E"}, "at most 16T: pass a smaller --disk-size"},
		{[]string{"-e", "NOEQUALS", "--", "true"}, `-e "NOEQUALS": want KEY=VALUE`},
		{[]string{"-e", "=1", "--", "true"}, "want KEY=VALUE"},
		{[]string{"-e", "A-B=1", "--", "true"}, "letters, digits and _"},
		{[]string{"-d"}, "-d needs a command"},
		{[]string{"-d", "--rm", "--", "sleep", "30"}, "-d and --rm"},
	}
	for _, tt := range tests {
		hermetic(t)
		var stderr bytes.Buffer
		err := Run(context.Background(), append([]string{"vm", "run"}, tt.args...), strings.NewReader(""), &bytes.Buffer{}, &stderr)
		code := Report(&stderr, err)
		if code != 125 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("vm run %q: exit %d, stderr %q; want 125 and %q", tt.args, code, stderr.String(), tt.want)
		}
	}
}

// TestRunPreludeInAShell runs vm run's guest command in this host's sh:
// -w and -e apply, values keep their spaces and quotes, and a directory
// that cannot be entered gives 126.
func TestRunPreludeInAShell(t *testing.T) {
	opts := VMRunOptions{
		Env: []string{"A=1", `B=it's "x"`}, Dir: "/tmp",
		Command: []string{"sh", "-c", `echo "$A|$B"; pwd`},
	}
	out, err := exec.Command("/bin/sh", "-c", opts.guestCommand(nil)[0]).CombinedOutput()
	if err != nil || string(out) != "1|it's \"x\"\n/tmp\n" {
		t.Fatalf("output %q, %v; want the variables, then /tmp", out, err)
	}
	opts.Dir = "/nonexistent"
	err = exec.Command("/bin/sh", "-c", opts.guestCommand(nil)[0]).Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 126 {
		t.Fatalf("missing -w directory: %v, want exit 126", err)
	}
	if got := (VMRunOptions{Command: []string{"make", "test"}}).guestCommand(nil); strings.Join(got, " ") != "make test" {
		t.Fatalf("without -e or -w the command is %q, want it unchanged", got)
	}
}

func TestSessionName(t *testing.T) {
	for in, want := range map[string]string{"./serve --port 1": "serve", "/usr/bin/python3": "python3", "echo $A": "echo", "-x": "", "'q'": ""} {
		if got := sessionName(in); got != want {
			t.Errorf("sessionName(%q) = %q, want %q", in, got, want)
		}
	}
}
