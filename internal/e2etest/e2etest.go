// Package e2etest guards banger's end-to-end tests, those that boot a VM,
// build a real image or drive the installed binaries. They run only when
// BANGER_E2E=1 asks for them and the host has what they need; otherwise
// they skip, saying what is missing and how to get it.
package e2etest

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"banger/internal/paths"
)

// Env is the variable that asks for the end-to-end tests when it is "1".
const Env = "BANGER_E2E"

// Enabled reports whether BANGER_E2E=1 asks for the end-to-end tests.
func Enabled() bool { return os.Getenv(Env) == "1" }

// Tool is a program an end-to-end test needs, and how to get it.
type Tool struct {
	Name string
	Fix  string
}

// The tools end-to-end tests need.
var (
	QEMU        = Tool{"qemu-system-x86_64", "apt-get install qemu-system-x86"}
	Mkfs        = Tool{"mkfs.ext4", "apt-get install e2fsprogs"}
	Debugfs     = Tool{"debugfs", "apt-get install e2fsprogs"}
	E2fsck      = Tool{"e2fsck", "apt-get install e2fsprogs"}
	Debootstrap = Tool{"debootstrap", "apt-get install debootstrap"}
	Go          = Tool{"go", "Go, to build the guest's programs"}
	AptCache    = Tool{"apt-cache", "a Debian host, to fetch linux-image-cloud-amd64"}
	AptGet      = Tool{"apt-get", "a Debian host, to fetch linux-image-cloud-amd64"}
	DpkgDeb     = Tool{"dpkg-deb", "a Debian host, to unpack linux-image-cloud-amd64"}
)

// Needs is what an end-to-end test needs besides BANGER_E2E=1.
type Needs struct {
	Root  bool   // the test runs as root
	Tools []Tool // found on PATH or in an sbin directory
}

// Boot is what a test needs to boot a VM under QEMU: Debian's cloud
// kernel fetched with the host's apt (kerneltest.DebianCloud), a root disk
// it makes with mkfs.ext4, and Go to build the programs the guest runs.
var Boot = Needs{Tools: []Tool{QEMU, Mkfs, Go, AptCache, AptGet, DpkgDeb}}

// With returns n needing tools too.
func (n Needs) With(tools ...Tool) Needs {
	n.Tools = append(slices.Clip(n.Tools), tools...)
	return n
}

// Unmet says why a test with needs n cannot run here, or "" when it can.
func (n Needs) Unmet() string {
	if !Enabled() {
		return fmt.Sprintf("set %s=1 to run it (make test does)", Env)
	}
	if n.Root && os.Geteuid() != 0 {
		return fmt.Sprintf("%s=1 but not root, which it needs", Env)
	}
	for _, tool := range n.Tools {
		if !found(tool.Name) {
			return fmt.Sprintf("%s not found (%s)", tool.Name, tool.Fix)
		}
	}
	return ""
}

// Require skips t, saying why, unless it can run here; what names the
// kind of test in the message.
func Require(t testing.TB, what string, n Needs) {
	t.Helper()
	if why := n.Unmet(); why != "" {
		t.Skipf("%s: %s", what, why)
	}
}

// lookTool finds a host program, on PATH or in an sbin directory.
var lookTool = paths.LookTool

func found(name string) bool {
	_, err := lookTool(name)
	return err == nil
}
