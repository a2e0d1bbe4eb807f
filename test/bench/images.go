package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"banger/internal/image"
)

// benchImages measures the golden image: a cold build (empty caches), a
// pull when the image is present, and a pull on a fresh state dir that
// finds the build in the cache; beside them, plain debootstrap of the same
// packages from the same package cache, as the floor a build cannot beat.
func benchImages(work, bin string) error {
	if os.Geteuid() != 0 {
		fmt.Println("\n(image figures skipped: building images needs root)")
		return nil
	}
	cache := imageCache(work)
	first := benchEnv(work, bin, "state1", cache)
	second := benchEnv(work, bin, "state2", cache)
	banger := filepath.Join(bin, "banger")
	defer stopDaemon(banger, first)
	defer stopDaemon(banger, second)

	var rows []oneShot
	timed := func(name string, target time.Duration, env []string, args ...string) error {
		start := time.Now()
		if out, err := command(env, banger, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("banger %s: %v: %s", strings.Join(args, " "), err, lastLines(string(out), 15))
		}
		rows = append(rows, oneShot{name: name, value: time.Since(start).Round(time.Millisecond).String(), target: durTarget(time.Since(start), target)})
		return nil
	}
	if err := timed("kernel pull (cold)", 0, first, "kernel", "pull", "debian-6.1-cloud"); err != nil {
		return err
	}
	if err := timed("image pull debian-bookworm (cold build)", 0, first, "image", "pull", "debian-bookworm"); err != nil {
		return err
	}
	if err := timed("image pull debian-bookworm (present)", time.Second, first, "image", "pull", "debian-bookworm"); err != nil {
		return err
	}
	if err := timed("image pull on a new state dir (build cached)", 0, second, "image", "pull", "debian-bookworm"); err != nil {
		return err
	}
	rootfs := filepath.Join(work, "state1", "banger", "images", "debian-bookworm", "rootfs.ext4")
	alloc := allocatedBytes(rootfs)
	verdict := "met"
	if alloc > 1500e6 {
		verdict = "MISSED"
	}
	rows = append(rows, oneShot{name: "golden rootfs allocated on disk", value: fmt.Sprintf("%.0f MB", float64(alloc)/1e6), target: "< 1500 MB: " + verdict})
	base, err := baselineDebootstrap(work, filepath.Join(cache, "banger", "debs"))
	if err != nil {
		return err
	}
	rows = append(rows, oneShot{name: "baseline: debootstrap of the same packages (debs cached)", value: base.Round(10 * time.Millisecond).String()})
	reportOneShots(rows)
	return nil
}

// imageCache is the XDG_CACHE_HOME the image figures fill from nothing.
func imageCache(work string) string { return filepath.Join(work, "imgcache") }

func benchEnv(work, bin, state, cache string) []string {
	return append(os.Environ(),
		"HOME="+filepath.Join(work, "home"),
		"XDG_CONFIG_HOME="+filepath.Join(work, "config"),
		"XDG_STATE_HOME="+filepath.Join(work, state),
		"XDG_CACHE_HOME="+cache,
		"XDG_RUNTIME_DIR="+filepath.Join(work, "run-"+state),
		"BANGER_DAEMON_BIN="+filepath.Join(bin, "bangerd"),
		"BANGER_AGENT_BIN="+filepath.Join(bin, "banger-vsock-agent"),
	)
}

// baselineDebootstrap runs debootstrap alone with the golden recipe's
// package list, reusing the package cache the build filled.
func baselineDebootstrap(work, debs string) (time.Duration, error) {
	entry, err := image.Lookup("debian-bookworm")
	if err != nil {
		return 0, err
	}
	pkgs := strings.Join(entry.Recipe.Packages, ",")
	target := filepath.Join(work, "baseline-tree")
	defer os.RemoveAll(target)
	start := time.Now()
	cmd := exec.Command("debootstrap", "--variant=minbase", "--include="+pkgs, "--cache-dir="+debs, "bookworm", target)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("baseline debootstrap: %v: %s", err, lastLines(string(out), 15))
	}
	return time.Since(start), nil
}

type oneShot struct{ name, value, target string }

func reportOneShots(rows []oneShot) {
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tvalue\ttarget")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.name, r.value, r.target)
	}
	tw.Flush()
}

func durTarget(d, target time.Duration) string {
	if target == 0 {
		return ""
	}
	if d > target {
		return fmt.Sprintf("< %s: MISSED", target)
	}
	return fmt.Sprintf("< %s: met", target)
}

func allocatedBytes(path string) int64 {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0
	}
	return st.Blocks * 512
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
