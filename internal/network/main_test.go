package network

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The tests that change interfaces and nftables run only in a network
// namespace of their own: when the test binary starts as root it re-runs
// itself under `unshare -n`, telling the child which namespace it left.
// The same binary also stands in for `bangerd net` and for an unprivileged
// VMM opening a tap, chosen by environment variables.
const (
	envHostNetns = "BANGER_NETWORK_TEST_HOST_NETNS" // set in the re-run child
	envHelper    = "BANGER_NETWORK_TEST_HELPER"     // act as `bangerd net ...`
	envOpenTap   = "BANGER_NETWORK_TEST_OPEN_TAP"   // attach to this tap and exit
	envTunDevice = "BANGER_NETWORK_TEST_TUN"        // the tun device node to open
)

// netnsSkip says why the namespace tests cannot run, or is "".
var netnsSkip string

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(envHelper) == "1":
		os.Exit(runHelperForTest())
	case os.Getenv(envOpenTap) != "":
		os.Exit(openTapForTest(os.Getenv(envTunDevice), os.Getenv(envOpenTap)))
	case os.Getenv(envHostNetns) != "":
		mustBeInFreshNetns(os.Getenv(envHostNetns))
		os.Exit(m.Run())
	case os.Geteuid() != 0:
		netnsSkip = "the network tests need root, to create a network namespace"
		os.Exit(m.Run())
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || exec.Command(unshare, "-n", "true").Run() != nil {
		netnsSkip = "the network tests need unshare(1) (util-linux) able to create a network namespace"
		os.Exit(m.Run())
	}
	os.Exit(rerunInNetns(unshare))
}

// mustBeInFreshNetns stops the tests unless this process's network
// namespace differs from the host's.
func mustBeInFreshNetns(host string) {
	if self, err := netnsID(); err != nil || self == host {
		fmt.Fprintf(os.Stderr, "refusing to run the network tests: not in a fresh network namespace (%s, %v)\n", self, err)
		os.Exit(2)
	}
}

func netnsID() (string, error) { return os.Readlink("/proc/self/ns/net") }

func rerunInNetns(unshare string) int {
	host, err := netnsID()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading this process's network namespace:", err)
		return 2
	}
	cmd := exec.Command(unshare, append([]string{"-n", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), envHostNetns+"="+host)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "re-running the tests in a network namespace:", err)
		return 2
	}
	return 0
}

// runHelperForTest behaves like `bangerd net '<json>'`. As root it acts
// only inside the test namespace.
func runHelperForTest() int {
	if os.Geteuid() == 0 && os.Getenv(envHostNetns) == "" {
		fmt.Fprintln(os.Stderr, "test helper: refusing to change the host's network as root outside a test namespace")
		return 3
	}
	if err := RunHelper(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bangerd:", err)
		return 1
	}
	return 0
}

// openTapForTest attaches to an existing tap through the tun device node
// dev, the way a VMM does, reporting the error on stderr.
func openTapForTest(dev, name string) int {
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err == nil {
		defer unix.Close(fd)
		var ifr *unix.Ifreq
		if ifr, err = unix.NewIfreq(name); err == nil {
			ifr.SetUint16(tapFlags)
			err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "opening tap %s as uid %d: %v\n", name, os.Getuid(), err)
		return 1
	}
	return 0
}

// needNetns skips a test that must run in the test namespace.
func needNetns(t *testing.T) {
	t.Helper()
	if netnsSkip != "" {
		t.Skip(netnsSkip)
	}
	if out, err := exec.Command("nft", "list", "ruleset").CombinedOutput(); err != nil {
		t.Fatalf("nftables does not work in the test namespace (`nft list ruleset`: %v: %s); load nf_tables, nft_chain_nat and nft_masq, or install nft", err, strings.TrimSpace(string(out)))
	}
}
