package guestabi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// guestOnly is the code that runs in the guest: the host binaries must not
// link it. The agent's client and wire protocol are the host's too.
var guestOnly = []string{
	"banger/internal/agent",
	"banger/internal/guestinit/...",
}

// hostOnly is the code that runs on the host: the guest agent must not
// link it. A pattern ending in /... also matches the packages below it,
// as with the go command; one naming a package that does not exist (yet)
// matches nothing.
var hostOnly = []string{
	"banger/internal/agent/agentclient/...",
	"banger/internal/api/...", // api/server, api/client
	"banger/internal/bundle/...",
	"banger/internal/cli/...",
	"banger/internal/config/...",
	"banger/internal/daemon/...",
	"banger/internal/daemonctl/...",
	"banger/internal/dns/...",
	"banger/internal/doctor/...",
	"banger/internal/guestssh/...",
	"banger/internal/image/...",
	"banger/internal/initramfs/...",
	"banger/internal/kernel/...",
	"banger/internal/library/...",
	"banger/internal/network/...",
	"banger/internal/oci/...",
	"banger/internal/paths/...",
	"banger/internal/privilege/...",
	"banger/internal/store/...",
	"banger/internal/vm/...",
	"banger/internal/vmdisk/...",
	"banger/internal/vmm/...",
	"banger/internal/web/...",
	"banger/internal/workspace/...",
}

// kubeletOnly is banger-kubelet's: client-go's init and size would cost
// every banger command its start, and bangerd has no use for it.
var kubeletOnly = []string{
	"banger/internal/kubelet/...",
	"github.com/virtual-kubelet/...",
	"k8s.io/...",
	"sigs.k8s.io/...",
}

// moduleDecoders read compressed kernel modules: the daemon needs them to
// build an initramfs, the CLI never does.
var moduleDecoders = []string{
	"github.com/klauspost/compress/zstd/...",
	"github.com/ulikunitz/xz/...",
}

// daemonOnly is bangerd's and never the CLI's: every package the CLI links
// costs the start of each banger command, `banger version` included. A
// pattern without /... leaves the packages below it to the CLI (the
// network policy, the ssh command line, the E2B API key).
var daemonOnly = []string{
	"banger/internal/api/server",
	"banger/internal/daemon/...",
	"banger/internal/dns/...",
	"banger/internal/e2b",
	"banger/internal/e2b/envd/...",
	"banger/internal/guestssh",
	"banger/internal/image/...",
	"banger/internal/library/...",
	"banger/internal/mcp", // `banger mcp` execs `bangerd mcp` (see mcpcmd)
	"banger/internal/network",
	"banger/internal/oci/...",
	"banger/internal/store/...",
	"banger/internal/vm/...",
	"connectrpc.com/connect/...",
	"github.com/godbus/dbus/...",
	"github.com/google/go-containerregistry/...",
	"github.com/google/nftables/...",
	"github.com/miekg/dns/...",
	"github.com/modelcontextprotocol/go-sdk/...",
	"github.com/vishvananda/netlink/...",
	"golang.org/x/crypto/ssh/...",
	"google.golang.org/protobuf/...",
	"modernc.org/sqlite/...",
}

func TestBinariesLinkOnlyTheirSide(t *testing.T) {
	for _, r := range []struct {
		bin    string
		banned []string
	}{
		{"banger/cmd/banger", slices.Concat(guestOnly, moduleDecoders, daemonOnly, kubeletOnly)},
		{"banger/cmd/bangerd", slices.Concat(guestOnly, kubeletOnly)},
		{"banger/cmd/banger-vsock-agent", slices.Concat(hostOnly, kubeletOnly)},
		{"banger/cmd/banger-kubelet", slices.Concat(guestOnly, moduleDecoders)},
	} {
		t.Run(r.bin[strings.LastIndexByte(r.bin, '/')+1:], func(t *testing.T) {
			g := depGraph(t, r.bin)
			reported := map[string]bool{}
			for _, p := range g.sorted() {
				if pat := matchAny(p, r.banned); pat != "" && !reported[pat] {
					reported[pat] = true
					t.Errorf("%s links %s, which %q bans, through %s", r.bin, p, pat, strings.Join(g.chain(r.bin, p), " -> "))
				}
			}
		})
	}
}

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		pkg, pattern string
		want         bool
	}{
		{"banger/internal/agent", "banger/internal/agent", true},
		{"banger/internal/agent/agentproto", "banger/internal/agent", false},
		{"banger/internal/vm", "banger/internal/vm/...", true},
		{"banger/internal/vm/steps", "banger/internal/vm/...", true},
		{"banger/internal/vmm", "banger/internal/vm/...", false},
		{"banger/internal/api/server", "banger/internal/api/...", true},
	} {
		if got := match(c.pkg, c.pattern); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pkg, c.pattern, got, c.want)
		}
	}
}

// graph maps each package a binary links to the packages it imports.
type graph map[string][]string

// depGraph runs `go list -deps` on pkg.
func depGraph(t *testing.T, pkg string) graph {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to list dependencies with")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(goBin, "list", "-deps", "-json=ImportPath,Imports", pkg)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr.Bytes())
	}
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list output: %v", err)
		}
		g[p.ImportPath] = p.Imports
	}
	if _, ok := g[pkg]; !ok {
		t.Fatalf("go list -deps %s did not list %s itself", pkg, pkg)
	}
	return g
}

func (g graph) sorted() []string {
	var ps []string
	for p := range g {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// chain is a shortest import path from one package to another.
func (g graph) chain(from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var c []string
			for ; p != ""; p = prev[p] {
				c = append(c, p)
			}
			slices.Reverse(c)
			return c
		}
		for _, q := range g[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return []string{from, "?", to}
}

// matchAny returns the first pattern that matches pkg, or "".
func matchAny(pkg string, patterns []string) string {
	for _, pat := range patterns {
		if match(pkg, pat) {
			return pat
		}
	}
	return ""
}

// match reports whether pkg is pattern or, for a pattern ending in /...,
// the package before it or one below it.
func match(pkg, pattern string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}
