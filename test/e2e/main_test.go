// Package e2e runs banger end to end: the real CLI and daemon, real image
// builds from Debian's archive, and (later) real VMs. It needs root, the
// host tools from `make install`, and BANGER_E2E=1; without them every test
// skips and says what is missing.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/e2etest"
	"banger/test/internal/buildcache"
)

// harness holds the binaries and the environment every test shares.
type harness struct {
	bin   string   // dir with banger, bangerd, banger-vsock-agent
	env   []string // hermetic XDG dirs; a persistent cache when configured
	state string   // XDG_STATE_HOME/banger
	cache string   // XDG_CACHE_HOME/banger
}

var h *harness

// skipReason says why end-to-end tests cannot run here, or "".
func skipReason() string {
	needs := e2etest.Needs{Root: true, Tools: []e2etest.Tool{e2etest.Debootstrap, e2etest.Mkfs, e2etest.Debugfs, e2etest.QEMU}}
	if why := needs.Unmet(); why != "" {
		return "end-to-end tests: " + why
	}
	return ""
}

func TestMain(m *testing.M) {
	if skipReason() == "" {
		var cleanup func()
		var err error
		h, cleanup, err = setup()
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e setup:", err)
			os.Exit(1)
		}
		code := m.Run()
		cleanup()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// need skips a test when the harness is not available.
func need(t *testing.T) *harness {
	t.Helper()
	if r := skipReason(); r != "" {
		t.Skip(r)
	}
	return h
}

func setup() (*harness, func(), error) {
	work, err := os.MkdirTemp("", "banger-e2e")
	if err != nil {
		return nil, nil, err
	}
	bin := filepath.Join(work, "bin")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X banger/internal/version.Version=e2e",
		"-o", bin+"/", "banger/cmd/banger", "banger/cmd/bangerd", "banger/cmd/banger-vsock-agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("building: %v: %s", err, out)
	}
	// The cache (downloaded packages, image builds) may outlive the run, so
	// CI reruns on one machine skip the slow cold build.
	cacheHome := os.Getenv("BANGER_TEST_CACHE")
	if cacheHome == "" {
		cacheHome = filepath.Join(work, "cache")
	}
	hh := &harness{
		bin:   bin,
		state: filepath.Join(work, "state", "banger"),
		cache: filepath.Join(cacheHome, "banger"),
		env: append(os.Environ(),
			"HOME="+filepath.Join(work, "home"),
			"XDG_CONFIG_HOME="+filepath.Join(work, "config"),
			"XDG_STATE_HOME="+filepath.Join(work, "state"),
			"XDG_CACHE_HOME="+cacheHome,
			"XDG_RUNTIME_DIR="+filepath.Join(work, "run"),
			"PATH="+bin+":"+os.Getenv("PATH")+":/usr/sbin:/sbin",
			// The daemon this run built, whatever the caller's environment says.
			"BANGER_DAEMON_BIN="+filepath.Join(bin, "bangerd"),
			"BANGER_AGENT_BIN="+filepath.Join(bin, "banger-vsock-agent"),
		),
	}
	buildcache.Prune(filepath.Join(hh.cache, "builds"), 2)
	cleanup := func() {
		_, _ = hh.run("daemon", "stop")
		os.RemoveAll(work)
	}
	return hh, cleanup, nil
}

// run runs banger and returns its combined output.
func (h *harness) run(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(h.bin, "banger"), args...)
	cmd.Env = h.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// must runs banger and fails the test when it fails.
func (h *harness) must(t *testing.T, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := h.run(args...)
	t.Logf("banger %s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("banger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// logTail returns the last n lines of the daemon's log, for failures.
func (h *harness) logTail(n int) string {
	b, err := os.ReadFile(filepath.Join(h.state, "bangerd.log"))
	if err != nil {
		return "(no bangerd.log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// debugfs runs a debugfs request against an ext4 image.
func debugfs(t *testing.T, img, request string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", request, img).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v\n%s", request, err, out)
	}
	return string(out)
}
