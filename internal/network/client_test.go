package network

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"banger/internal/errdefs"
	"banger/internal/network/helperbin"
)

// fakeSudo puts a sudo on PATH that records its arguments and runs the
// rest of the script: by default it drops the leading -n and execs the
// command, as a passwordless sudo would. It returns the file the arguments
// are recorded in, one per line.
func fakeSudo(t *testing.T, body string) (argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	if body == "" {
		body = `[ "$1" = "-n" ] || { echo "fake sudo: -n must come first" >&2; exit 99; }
shift
exec "$@"`
	}
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + argsFile + "'\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	trustAnyBangerd(t)
	return argsFile
}

// trustAnyBangerd lets Sudo run binaries that are not root-owned, like
// the test binary standing in for bangerd.
func trustAnyBangerd(t *testing.T) {
	saved := checkHelper
	checkHelper = func(string) error { return nil }
	t.Cleanup(func() { checkHelper = saved })
}

// helperClient returns a client running through sudo whose bangerd is
// this test binary acting as `bangerd net`, and that bangerd's path.
func helperClient(t *testing.T) (Client, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(envHelper, "1")
	return OpClient{Sudo{Bangerd: exe}}, exe
}

// recordedOp reads what the fake sudo was asked to run and checks its form:
// -n, bangerd, net, one JSON argument.
func recordedOp(t *testing.T, argsFile, bangerd string) Op {
	t.Helper()
	b, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatalf("sudo was not run: %v", err)
	}
	args := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(args) != 4 || args[0] != "-n" || args[1] != bangerd || args[2] != "net" {
		t.Fatalf("sudo ran with %q, want [-n %s net <json>]", args, bangerd)
	}
	var op Op
	if err := json.Unmarshal([]byte(args[3]), &op); err != nil {
		t.Fatalf("sudo's last argument %q is not an Op: %v", args[3], err)
	}
	return op
}

func TestSudoClientRoundTrip(t *testing.T) {
	needNetns(t)
	argsFile := fakeSudo(t, "")
	client, bangerd := helperClient(t)
	ctx := context.Background()
	t.Setenv("SUDO_UID", "4242") // the helper acts for the user who ran sudo
	t.Cleanup(func() { _ = teardown(4242, testConfig) })

	if err := client.EnsureBridge(ctx, testConfig); err != nil {
		t.Fatalf("EnsureBridge through sudo: %v", err)
	}
	if got, want := recordedOp(t, argsFile, bangerd), (Op{Kind: OpEnsureBridge, Config: testConfig}); !reflect.DeepEqual(got, want) {
		t.Errorf("sudo was asked for %+v, want %+v", got, want)
	}
	if br := showLink(t, "banger0"); !reflect.DeepEqual(br.ipv4(), []string{"172.16.0.1/24"}) {
		t.Errorf("after EnsureBridge through sudo, banger0 has %v, want [172.16.0.1/24]", br.ipv4())
	}

	tap := TapName("viasudo")
	if err := client.EnsureTap(ctx, testConfig, tap, 4242); err != nil {
		t.Fatalf("EnsureTap through sudo: %v", err)
	}
	if got, want := recordedOp(t, argsFile, bangerd), (Op{Kind: OpEnsureTap, Config: testConfig, Tap: tap, Owner: 4242}); !reflect.DeepEqual(got, want) {
		t.Errorf("sudo was asked for %+v, want %+v", got, want)
	}
	if l := showLink(t, tap); l.Master != "banger0" || !ownedBy(l.LinkInfo.Data.User, 4242) {
		t.Errorf("after EnsureTap through sudo, %s is on %q owned by %v, want banger0 and uid 4242", tap, l.Master, l.LinkInfo.Data.User)
	}

	g := Guest{Tap: tap, MAC: "06:00:ac:10:00:07", IP: netip.MustParseAddr("172.16.0.7")}
	p, _ := ParsePolicy("allow=example.com:443")
	if err := client.SetPolicy(ctx, testConfig, g, p); err != nil {
		t.Fatalf("SetPolicy through sudo: %v", err)
	}
	if got, want := recordedOp(t, argsFile, bangerd), (Op{Kind: OpSetPolicy, Config: testConfig, Guest: &g, Policy: &p}); !reflect.DeepEqual(got, want) {
		t.Errorf("sudo was asked for %+v, want %+v", got, want)
	}
	if err := client.AllowResolved(ctx, testConfig, tap, []netip.AddrPort{netip.MustParseAddrPort("203.0.113.9:443")}, time.Minute); err != nil {
		t.Fatalf("AllowResolved through sudo: %v", err)
	}
	if rules := run(t, "nft", "list", "table", "inet", TableName(4242, "banger0")); !strings.Contains(rules, "203.0.113.9 . tcp . 443") {
		t.Errorf("AllowResolved through sudo did not reach the VM's set:\n%s", rules)
	}
	if err := client.DeleteTap(ctx, tap); err != nil {
		t.Fatalf("DeleteTap through sudo: %v", err)
	}
	if linkExists(t, tap) {
		t.Errorf("%s survived DeleteTap through sudo", tap)
	}
	if err := client.Teardown(ctx, testConfig); err != nil {
		t.Fatalf("Teardown through sudo: %v", err)
	}
	if linkExists(t, "banger0") {
		t.Errorf("banger0 survived Teardown through sudo")
	}
}

func TestSudoClientReportsHelperErrors(t *testing.T) {
	if os.Geteuid() == 0 && os.Getenv(envHostNetns) == "" {
		t.Skip(netnsSkip)
	}
	fakeSudo(t, "")
	client, _ := helperClient(t)
	c := Config{Bridge: "nobridge0", Subnet: testConfig.Subnet}
	err := client.EnsureTap(context.Background(), c, "bg-x", os.Getuid())
	if err == nil || !strings.Contains(err.Error(), "ensure-tap bg-x") || !strings.Contains(err.Error(), "bridge nobridge0 does not exist") {
		t.Errorf("EnsureTap through sudo without a bridge = %v, want the helper's error naming the op and the bridge", err)
	}
	if err := client.DeleteTap(context.Background(), "bg-absent"); err != nil {
		t.Errorf("DeleteTap of a missing tap through sudo = %v, want nil", err)
	}
}

func TestSudoClientRefused(t *testing.T) {
	fakeSudo(t, `echo "sudo: a password is required" >&2; exit 1`)
	client := OpClient{Sudo{Bangerd: "/usr/local/bin/bangerd"}}
	err := client.EnsureBridge(context.Background(), testConfig)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("EnsureBridge with sudo refusing = %v, want failed_precondition", err)
	}
	for _, want := range []string{"a password is required", "run bangerd as root", "NOPASSWD: /usr/local/bin/bangerd net *"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestSudoClientRefusesUnsafeBinary: a bangerd that a user could replace
// is neither run through sudo nor offered for a sudoers rule.
func TestSudoClientRefusesUnsafeBinary(t *testing.T) {
	argsFile := fakeSudo(t, "")
	checkHelper = helperbin.Check // what fakeSudo relaxed
	dir := t.TempDir()            // under a world-writable directory
	bin := filepath.Join(dir, "bangerd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := OpClient{Sudo{Bangerd: bin}}.EnsureBridge(context.Background(), testConfig)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "is not safe to run as root") || !strings.Contains(err.Error(), "sudo make install") {
		t.Errorf("EnsureBridge with bangerd at %s = %v, want failed_precondition saying why it is unsafe and how to install it", bin, err)
	}
	if err != nil && strings.Contains(err.Error(), "NOPASSWD") {
		t.Errorf("the error offers a sudoers rule for an unsafe binary: %v", err)
	}
	if _, serr := os.Stat(argsFile); serr == nil {
		t.Errorf("sudo ran an unsafe bangerd")
	}
}

func TestSudoClientWithoutSudo(t *testing.T) {
	trustAnyBangerd(t)
	t.Setenv("PATH", t.TempDir())
	err := OpClient{Sudo{Bangerd: "/usr/local/bin/bangerd"}}.DeleteTap(context.Background(), "bg-x")
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "sudo is not installed") {
		t.Errorf("DeleteTap without sudo = %v, want failed_precondition saying sudo is not installed", err)
	}
}

func TestSudoClientChecksArgumentsFirst(t *testing.T) {
	argsFile := fakeSudo(t, "")
	client := OpClient{Sudo{Bangerd: "/usr/local/bin/bangerd"}}
	ctx := context.Background()
	if err := client.EnsureTap(ctx, testConfig, "eth0", 1000); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("EnsureTap(eth0) = %v, want invalid_argument", err)
	}
	if err := client.Teardown(ctx, Config{Bridge: "banger0"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Teardown without a subnet = %v, want invalid_argument", err)
	}
	if err := (OpClient{Sudo{Bangerd: "bangerd"}}).DeleteTap(ctx, "bg-x"); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("DeleteTap with a relative bangerd path = %v, want an error", err)
	}
	if _, err := os.Stat(argsFile); err == nil {
		t.Errorf("sudo ran for a request that should have been refused before it")
	}
}

func TestNewClient(t *testing.T) {
	got := NewClient("/usr/local/bin/bangerd")
	var want Client = OpClient{Sudo{Bangerd: "/usr/local/bin/bangerd"}}
	if os.Geteuid() == 0 {
		want = OpClient{Local{}}
	}
	if got != want {
		t.Errorf("NewClient as uid %d = %#v, want %#v", os.Geteuid(), got, want)
	}
}

func TestLocalHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (OpClient{Local{}}).EnsureBridge(ctx, testConfig); !errors.Is(err, context.Canceled) {
		t.Errorf("EnsureBridge with a cancelled context = %v, want context.Canceled", err)
	}
}
