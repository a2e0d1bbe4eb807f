package sshcmd

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	tg := Target{User: "root", Host: "172.16.0.2", Key: "/k", KnownHosts: "/kh", Alias: "box"}
	args := tg.Args(false, []string{"sh", "-c", "echo 'hi there'; exit 3"})
	for _, want := range []string{"StrictHostKeyChecking=yes", "UserKnownHostsFile=/kh", "HostKeyAlias=box", "-T", "root@172.16.0.2"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if last := args[len(args)-1]; last != `sh -c 'echo '\''hi there'\''; exit 3'` {
		t.Errorf("command = %s", last)
	}
	if args := tg.Args(true, nil); args[len(args)-1] != "root@172.16.0.2" || !slices.Contains(args, "-t") {
		t.Errorf("shell args = %q", args)
	}
}

// TestQuoteCommandRoundTrip checks with a real shell that quoted words
// split back into the same argv.
func TestQuoteCommandRoundTrip(t *testing.T) {
	argv := []string{"printf", "%s|", "a b", "it's", "$HOME", "", "back\\slash", "new\nline", "*", "ü"}
	out, err := exec.Command("sh", "-c", QuoteCommand(argv)).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(argv[2:], "|") + "|"
	if string(out) != want {
		t.Fatalf("shell saw %q, want %q", out, want)
	}
}
