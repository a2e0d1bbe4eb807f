package image

import (
	"archive/tar"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// fakeRunner stands in for root: file commands (install, rm, chown) run
// for real on the test's temp dirs, debootstrap runs a script, mkfs.ext4
// writes a fake image, and tar in the chroot saves its input.
type fakeRunner struct {
	t           *testing.T
	debootstrap string // sh script
	tarInput    string // where the tar stream is saved
	mu          sync.Mutex
	calls       []string
}

func (f *fakeRunner) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	f.mu.Lock()
	f.calls = append(f.calls, filepath.Base(name)+" "+strings.Join(args, " "))
	f.mu.Unlock()
	switch filepath.Base(name) {
	case "install", "rm", "umount":
		return exec.CommandContext(ctx, name, args...)
	case "chown":
		return exec.CommandContext(ctx, "true")
	case "debootstrap":
		return exec.CommandContext(ctx, "sh", "-c", f.debootstrap)
	case "mkfs.ext4":
		img := make([]byte, 2048)
		binary.LittleEndian.PutUint16(img[1080:], 0xEF53)
		if err := os.WriteFile(args[len(args)-2], img, 0o644); err != nil {
			f.t.Error(err)
		}
		return exec.CommandContext(ctx, "true")
	case "chroot":
		if slices.Contains(args, "tar") {
			return exec.CommandContext(ctx, "sh", "-c", `cat > "$0"`, f.tarInput)
		}
		return exec.CommandContext(ctx, "true")
	}
	f.t.Errorf("unexpected command %s %q", name, args)
	return exec.CommandContext(ctx, "false")
}

type fakeBuild struct {
	opts   BuildOptions
	runner *fakeRunner
	steps  []string
}

func newFakeBuild(t *testing.T, debootstrap string) *fakeBuild {
	t.Helper()
	dir := t.TempDir()
	agent := filepath.Join(dir, "agent")
	os.WriteFile(agent, []byte("agent"), 0o755)
	mods := filepath.Join(dir, "mods", "6.1.0-9-cloud-amd64")
	os.MkdirAll(mods, 0o755)
	os.WriteFile(filepath.Join(mods, "modules.dep"), nil, 0o644)
	work := filepath.Join(dir, "work")
	os.Mkdir(work, 0o700)
	entry, err := Lookup("debian-bookworm-slim")
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBuild{runner: &fakeRunner{t: t, debootstrap: debootstrap, tarInput: filepath.Join(dir, "files.tar")}}
	fb.opts = BuildOptions{
		Entry: entry, DebCache: filepath.Join(dir, "debs"), WorkDir: work, Out: filepath.Join(dir, "rootfs.ext4"),
		AgentBin: agent, ModulesDir: mods, Runner: fb.runner,
		Keyring: agent, // any file that exists
		Progress: func(e progress.Event) {
			if e.Message == "" && e.Done == 0 {
				fb.steps = append(fb.steps, e.Step)
			}
		},
	}
	return fb
}

func (fb *fakeBuild) run(ctx context.Context) (Result, error) {
	b, err := newBuilder(fb.opts)
	if err != nil {
		return Result{}, err
	}
	b.checkRoot = func(context.Context) error { return nil }
	b.findTool = func(name string) string { return "/fake/" + name }
	return b.build(ctx)
}

// checkClean asserts that a build left nothing but, maybe, its output.
func (fb *fakeBuild) checkClean(t *testing.T, wantOut bool) {
	t.Helper()
	if left, _ := os.ReadDir(fb.opts.WorkDir); len(left) != 0 {
		t.Errorf("work dir still holds %v", left)
	}
	if _, err := os.Stat(fb.opts.Out + ".tmp"); err == nil {
		t.Error("the .tmp output was left behind")
	}
	if _, err := os.Stat(fb.opts.Out); (err == nil) != wantOut {
		t.Errorf("output exists = %v, want %v", err == nil, wantOut)
	}
}

func TestBuildWithFakeRoot(t *testing.T) {
	fb := newFakeBuild(t, `echo "I: Retrieving libc6 2.36"; echo "I: Base system installed successfully."`)
	res, err := fb.run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fb.checkClean(t, true)
	agentSum, _ := SHA256File(fb.opts.AgentBin)
	if want := fb.opts.Entry.Recipe.Hash(agentSum, "6.1.0-9-cloud-amd64"); res.Hash != want {
		t.Errorf("hash = %s, want %s", res.Hash, want)
	}
	if res.Path != fb.opts.Out || res.SizeBytes != 2048 || res.AllocatedBytes <= 0 {
		t.Errorf("result = %+v", res)
	}
	wantSteps := []string{"checking the host", "fetching mise", "debootstrap", "installing banger's files",
		"configuring the system", "trimming", "making the ext4 filesystem", "cleaning up"}
	if !slices.Equal(fb.steps, wantSteps) {
		t.Errorf("steps = %q\nwant    %q", fb.steps, wantSteps)
	}
	calls := strings.Join(fb.runner.calls, "\n")
	for _, want := range []string{
		"debootstrap --variant=minbase",
		"--cache-dir=" + fb.opts.DebCache,
		"systemctl enable --quiet ssh.service",
		agentUnit + " " + sshKeygenUnit,
		"systemctl mask --quiet apt-daily.timer",
		"usermod -p * root",
		"mkfs.ext4 -q -F -L rootfs -E root_owner=0:0",
		"rm -rf --one-file-system -- " + fb.opts.WorkDir,
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("no command contains %q; commands:\n%s", want, calls)
		}
	}
	if strings.Contains(calls, "depmod") {
		t.Error("depmod ran although the kernel ships modules.dep")
	}
	if strings.Contains(calls, "systemctl disable") {
		t.Errorf("a recipe with no disable list ran systemctl disable:\n%s", calls)
	}

	f, err := os.Open(fb.runner.tarInput)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	for _, want := range []string{"usr/local/lib/banger/banger-vsock-agent", "etc/systemd/system/" + agentUnit,
		"etc/ssh/sshd_config.d/banger.conf", "lib/modules/6.1.0-9-cloud-amd64/modules.dep"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not installed; files: %q", want, names)
		}
	}
	if slices.Contains(names, "usr/local/bin/mise") {
		t.Error("mise installed into an image without it")
	}
}

// Package scripts enable units on install; the recipe's disable list
// undoes that after its own enables and before its masks.
func TestBuildDisablesUnits(t *testing.T) {
	fb := newFakeBuild(t, `echo "I: Base system installed successfully."`)
	fb.opts.Entry.Recipe.Disable = []string{"cron.service", "rsync.service"}
	if _, err := fb.run(t.Context()); err != nil {
		t.Fatal(err)
	}
	at := func(verb string) int {
		return slices.IndexFunc(fb.runner.calls, func(c string) bool { return strings.Contains(c, " systemctl "+verb+" ") })
	}
	enable, disable, mask := at("enable"), at("disable"), at("mask")
	if disable < 0 || !strings.HasSuffix(fb.runner.calls[disable], "systemctl disable --quiet cron.service rsync.service") {
		t.Fatalf("no systemctl disable of the recipe's units; commands:\n%s", strings.Join(fb.runner.calls, "\n"))
	}
	if !(enable < disable && disable < mask) {
		t.Errorf("unit commands ran in the order enable %d, disable %d, mask %d; want enable, disable, mask", enable, disable, mask)
	}
}

func TestBuildFailureLeavesNothing(t *testing.T) {
	fb := newFakeBuild(t, `echo "I: Retrieving libc6"; echo "E: Couldn't download packages: libc6" >&2; exit 1`)
	_, err := fb.run(t.Context())
	if err == nil {
		t.Fatal("build succeeded")
	}
	for _, want := range []string{"debian-bookworm-slim", "debootstrap", "Couldn't download packages"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	fb.checkClean(t, false)
}

func TestBuildCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// debootstrap says it is running, then blocks until signalled; the
	// build is cancelled when the line arrives.
	fb := newFakeBuild(t, `echo "I: waiting"; exec sleep 600`)
	steps := fb.opts.Progress
	fb.opts.Progress = func(e progress.Event) {
		steps(e)
		if e.Message == "waiting" {
			cancel()
		}
	}
	_, err := fb.run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	fb.checkClean(t, false)
}

func TestBuildOptionErrors(t *testing.T) {
	fb := newFakeBuild(t, "true")
	os.WriteFile(fb.opts.Out, nil, 0o644)
	if _, err := fb.run(t.Context()); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("existing output: err = %v", err)
	}
	for name, c := range map[string]struct {
		change func(*BuildOptions)
		kind   error
	}{
		"mirror":  {func(o *BuildOptions) { o.Mirror = "mirror.test/debian" }, errdefs.ErrInvalidArgument},
		"agent":   {func(o *BuildOptions) { o.AgentBin = "/nonexistent/agent" }, errdefs.ErrInvalidArgument},
		"workdir": {func(o *BuildOptions) { o.WorkDir = "/nonexistent/work" }, errdefs.ErrNotFound},
		"modules": {func(o *BuildOptions) { o.ModulesDir = fb.opts.AgentBin }, errdefs.ErrInvalidArgument},
		"entry":   {func(o *BuildOptions) { o.Entry.Recipe.Variant = "" }, errdefs.ErrInvalidArgument},
	} {
		fb := newFakeBuild(t, "true")
		c.change(&fb.opts)
		if _, err := fb.run(t.Context()); !errors.Is(err, c.kind) {
			t.Errorf("%s: err = %v, want %v", name, err, c.kind)
		}
	}
}

func TestMissingToolIsExplained(t *testing.T) {
	fb := newFakeBuild(t, "true")
	b, err := newBuilder(fb.opts)
	if err != nil {
		t.Fatal(err)
	}
	b.checkRoot = func(context.Context) error { return nil }
	b.findTool = func(name string) string {
		if name == "debootstrap" {
			return ""
		}
		return "/fake/" + name
	}
	_, err = b.build(t.Context())
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "install the debootstrap package") {
		t.Errorf("err = %v", err)
	}
	fb.checkClean(t, false)
}

func TestGoldenWithoutRegistrySkipsMise(t *testing.T) {
	fb := newFakeBuild(t, "true")
	golden, err := Lookup("debian-bookworm")
	if err != nil {
		t.Fatal(err)
	}
	fb.opts.Entry = golden
	var notes []string
	steps := fb.opts.Progress
	fb.opts.Progress = func(e progress.Event) {
		steps(e)
		if e.Step == "fetching mise" && e.Message != "" {
			notes = append(notes, e.Message)
		}
	}
	res, err := fb.run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "without mise") {
		t.Errorf("notes = %q, want one saying mise is skipped", notes)
	}
	agentSum, _ := SHA256File(fb.opts.AgentBin)
	if full := golden.Recipe.Hash(agentSum, "6.1.0-9-cloud-amd64"); res.Hash == full {
		t.Error("a build without mise has the hash of a complete one")
	}
}

func TestGoldenWithRegistryInstallsMise(t *testing.T) {
	reg := &fakeRegistry{tarball: tgz(t, map[string][]byte{"package/bin/mise": fakeMise}), latest: "2025.1.0"}
	fb := newFakeBuild(t, "true")
	fb.opts.Entry, _ = Lookup("debian-bookworm")
	fb.opts.NPMRegistry = reg.start(t).URL
	res, err := fb.run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	agentSum, _ := SHA256File(fb.opts.AgentBin)
	if want := fb.opts.Entry.Recipe.Hash(agentSum, "6.1.0-9-cloud-amd64"); res.Hash != want {
		t.Errorf("hash = %s, want %s", res.Hash, want)
	}
	data, err := os.ReadFile(fb.runner.tarInput)
	if err != nil {
		t.Fatal(err)
	}
	files := readTar(t, data)
	if h := files["usr/local/bin/mise"]; h == nil || h.Mode != 0o755 || h.PAXRecords["body"] != string(fakeMise) {
		t.Errorf("mise not installed as an executable: %+v", h)
	}
	if files["etc/profile.d/banger-mise.sh"] == nil {
		t.Error("no profile script for mise")
	}
}

func TestBuildRefusesMissingKeyring(t *testing.T) {
	fb := newFakeBuild(t, "true")
	fb.opts.Keyring = filepath.Join(t.TempDir(), "missing.gpg")
	_, err := fb.run(t.Context())
	if err == nil || !strings.Contains(err.Error(), fb.opts.Keyring) {
		t.Fatalf("build with a missing keyring = %v, want an error naming it", err)
	}
	fb.checkClean(t, false)
}
