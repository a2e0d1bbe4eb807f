package e2e

import (
	"strings"
	"testing"

	"banger/internal/api"
)

// testRunFlags checks vm run's docker-style flags on VMs of box's size:
// -d starts the command as a session and returns while it runs; -e and -w
// reach the command.
func testRunFlags(t *testing.T, n *vmNet) {
	t.Helper()
	size := []string{"--vcpu", "2", "--memory", "1G", "--disk-size", "2G"}
	r := n.must(t, append(append([]string{"vm", "run", "-d", "--name", "bg"}, size...), "--", "sleep", "30")...)
	if strings.TrimSpace(r.stdout) != "bg/sleep" || !strings.Contains(r.stderr, "banger session attach bg/sleep") {
		t.Errorf("vm run -d: %s\nwant bg/sleep and how to attach", r)
	}
	if s := sessionNamed(t, n, "bg", "sleep"); s.State != api.SessionRunning {
		t.Errorf("vm run -d's session: %+v, want it running", s)
	}
	n.must(t, "vm", "delete", "--force", "bg")

	r = n.run(append(append([]string{"vm", "run", "--rm"}, size...), "-e", "A=1", "-w", "/tmp", "--", "sh", "-c", "echo $A; pwd")...)
	if r.code != 0 || r.stdout != "1\n/tmp\n" {
		t.Errorf("vm run -e A=1 -w /tmp: %s\nwant 1 and /tmp", r)
	}
}
