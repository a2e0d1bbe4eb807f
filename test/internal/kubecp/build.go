package kubecp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Version is the Kubernetes release the tools module pins; the binaries
// report it through k8s.io/component-base/version.
const Version = "v1.37.2"

// The programs the tools module builds, each the name of its binary.
const (
	APIServer = "kube-apiserver"
	Scheduler = "kube-scheduler"
	Etcd      = "etcd"
)

// packages maps each binary to the package the tools module builds it from.
var packages = map[string]string{
	APIServer: "k8s.io/kubernetes/cmd/kube-apiserver",
	Scheduler: "k8s.io/kubernetes/cmd/kube-scheduler",
	Etcd:      "./etcd",
}

// buildOrder builds the largest first, so the others reuse its packages.
var buildOrder = []string{APIServer, Scheduler, Etcd}

// ldflags strips the binaries and stamps the Kubernetes version into them.
func ldflags() string {
	v := "k8s.io/component-base/version"
	major, minor, _ := strings.Cut(strings.TrimPrefix(Version, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	return fmt.Sprintf("-s -w -X %[1]s.gitVersion=%[2]s -X %[1]s.gitMajor=%[3]s -X %[1]s.gitMinor=%[4]s -X %[1]s.gitTreeState=clean",
		v, Version, major, minor)
}

// Key names one build of the control plane: a digest of every file of the
// tools module (go.mod, go.sum, sources), the Go version that builds it
// and the build flags. The binaries are rebuilt only when it changes.
func Key(toolsDir, goVersion string) (string, error) {
	var files []string
	err := filepath.WalkDir(toolsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("listing the tools module %s: %w", toolsDir, err)
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "go %s\nldflags %s\n", goVersion, ldflags())
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("hashing the tools module: %w", err)
		}
		rel, _ := filepath.Rel(toolsDir, p)
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Binaries returns the directory holding kube-apiserver, kube-scheduler
// and etcd for the tools module in toolsDir, building them under
// cacheDir/KEY first when they are missing. A cold build takes tens of
// minutes on two cores; it says how it is going on progress. Builds of
// other keys are removed once this one is in place.
func Binaries(ctx context.Context, toolsDir, cacheDir string, progress io.Writer) (string, error) {
	goVersion, err := goEnv(ctx, toolsDir, "GOVERSION")
	if err != nil {
		return "", err
	}
	key, err := Key(toolsDir, goVersion)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, key)
	if complete(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("making the control plane cache: %w", err)
	}
	unlock, err := lock(filepath.Join(cacheDir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if complete(dir) { // another test process built it while we waited
		return dir, nil
	}
	if err := build(ctx, toolsDir, cacheDir, key, progress); err != nil {
		return "", err
	}
	prune(cacheDir, key)
	return dir, nil
}

func complete(dir string) bool {
	for _, name := range buildOrder {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || !info.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// build builds every binary into a temporary directory beside the cache
// entry and renames it into place, so a half-built entry is never seen.
func build(ctx context.Context, toolsDir, cacheDir, key string, progress io.Writer) error {
	tmp, err := os.MkdirTemp(cacheDir, ".build-"+key+"-")
	if err != nil {
		return fmt.Errorf("making a build directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(progress, "kubecp: building the Kubernetes %s control plane into %s (a cold build takes 15-30 minutes on two cores; later runs reuse it)\n",
		Version, filepath.Join(cacheDir, key))
	for _, name := range buildOrder {
		if err := buildOne(ctx, toolsDir, filepath.Join(tmp, name), name, progress); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("opening the build directory to readers: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(cacheDir, key)); err != nil {
		return fmt.Errorf("moving the built control plane into the cache: %w", err)
	}
	return nil
}

func buildOne(ctx context.Context, toolsDir, out, name string, progress io.Writer) error {
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags(), "-o", out, packages[name])
	cmd.Dir = toolsDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false", "CGO_ENABLED=0")
	var tail tailBuffer
	cmd.Stdout, cmd.Stderr = &tail, &tail
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(progress, "kubecp: still building %s (%s so far)\n", name, time.Since(start).Round(time.Second))
			}
		}
	}()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s (go build %s in %s): %w\n%s", name, packages[name], toolsDir, err, tail.String())
	}
	fmt.Fprintf(progress, "kubecp: built %s in %s\n", name, time.Since(start).Round(time.Second))
	return nil
}

// prune removes the builds of other keys, and builds left half-done.
func prune(cacheDir, keep string) {
	entries, err := os.ReadDir(cacheDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != keep {
			os.RemoveAll(filepath.Join(cacheDir, e.Name()))
		}
	}
}

// lock holds an exclusive lock on path, so that two test processes do not
// build the same binaries at once.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the build lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func goEnv(ctx context.Context, dir, name string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", name)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("go env %s (Go is needed to build the control plane): %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Prebuild builds the control plane of the repository that holds the
// working directory into CacheDir(""), unless it is there already, so
// that a CI run can start the slow build before the tests that wait for
// it.
func Prebuild(ctx context.Context, progress io.Writer) (string, error) {
	o := Options{Progress: progress}
	if err := o.fillBuild(); err != nil {
		return "", err
	}
	return Binaries(ctx, o.Tools, o.Cache, o.Progress)
}
