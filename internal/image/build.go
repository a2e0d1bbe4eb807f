package image

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"banger/internal/atomicfile"
	"banger/internal/errdefs"
	"banger/internal/privilege"
	"banger/internal/progress"
)

// BuildOptions says what to build and where.
type BuildOptions struct {
	Entry       Entry
	Mirror      string // Debian mirror URL; "" lets debootstrap use its default
	Keyring     string // keyring debootstrap verifies the archive with; "" means Debian's archive keyring
	DebCache    string // debootstrap --cache-dir: downloaded .debs reused across builds
	WorkDir     string // scratch; the tree is built in a directory under it and removed
	Out         string // the rootfs.ext4 to make; must not exist
	AgentBin    string // host path of the static guest agent
	ModulesDir  string // optional host lib/modules/KVER, copied to /lib/modules/KVER
	NPMRegistry string // npm registry base URL for mise; "" skips mise
	Runner      privilege.Runner
	HTTP        *http.Client
	Progress    progress.Func
}

// Result describes a built image.
type Result struct {
	Path           string
	SizeBytes      int64 // apparent size
	AllocatedBytes int64 // disk space taken
	// Hash is Recipe.Hash(agent sha256, kernel version), with a third
	// input "without-mise" when the recipe wants mise but no registry was
	// given, so such a build never passes for a complete one.
	Hash string
}

// Build makes an ext4 root filesystem from a catalog recipe: debootstrap
// into a scratch tree, configure it, and mkfs.ext4 -d it into Out, with
// no loop mounts. Out appears only when the build is complete; on error
// or cancellation the scratch and any partial output are removed.
func Build(ctx context.Context, o BuildOptions) (Result, error) {
	b, err := newBuilder(o)
	if err != nil {
		return Result{}, err
	}
	return b.build(ctx)
}

// builder carries one build's state between its steps.
type builder struct {
	o         BuildOptions
	prog      progress.Func
	checkRoot func(context.Context) error
	findTool  func(string) string
	keyring   string
	extra     []string // Hash inputs besides the recipe
	hash      string
	scratch   string // private dir under WorkDir
	tree      string // scratch/tree, root-owned
	tmp       string // Out + ".tmp"
	mise      string // staged mise binary, "" when not installed
}

func newBuilder(o BuildOptions) (*builder, error) {
	if err := checkOptions(&o); err != nil {
		return nil, err
	}
	agentSum, err := SHA256File(o.AgentBin)
	if err != nil {
		return nil, err
	}
	kver := ""
	if o.ModulesDir != "" {
		kver = filepath.Base(o.ModulesDir)
	}
	extra := []string{agentSum, kver}
	return &builder{
		o: o, prog: o.Progress, checkRoot: privilege.Check, findTool: findTool, keyring: cmp.Or(o.Keyring, debianKeyring),
		extra: extra, hash: o.Entry.Recipe.Hash(extra...), tmp: o.Out + ".tmp",
	}, nil
}

// checkOptions rejects options a build would trip over late, and fills in
// defaults.
func checkOptions(o *BuildOptions) error {
	if err := o.Entry.validate(); err != nil {
		return errdefs.InvalidArgument("%v", err)
	}
	if o.Out == "" || o.WorkDir == "" || o.AgentBin == "" {
		return errdefs.InvalidArgument("building image %s: Out, WorkDir and AgentBin are required", o.Entry.Name)
	}
	if _, err := os.Lstat(o.Out); err == nil {
		return errdefs.AlreadyExists("%s already exists; remove it or build elsewhere", o.Out)
	}
	if err := isDir(filepath.Dir(o.Out)); err != nil {
		return err
	}
	if err := isDir(o.WorkDir); err != nil {
		return err
	}
	if fi, err := os.Stat(o.AgentBin); err != nil || !fi.Mode().IsRegular() {
		return errdefs.InvalidArgument("guest agent %s is missing or not a file; build it with `make build`", o.AgentBin)
	}
	if o.ModulesDir != "" {
		if err := isDir(o.ModulesDir); err != nil {
			return err
		}
	}
	if o.Mirror != "" {
		if u, err := url.Parse(o.Mirror); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
			return errdefs.InvalidArgument("Debian mirror %q is not an http(s) or file URL", o.Mirror)
		}
	}
	if o.DebCache != "" {
		abs, err := filepath.Abs(o.DebCache)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return fmt.Errorf("creating the package cache: %w", err)
		}
		o.DebCache = abs
	}
	if o.Runner == nil {
		o.Runner = privilege.Host{}
	}
	if o.HTTP == nil {
		o.HTTP = http.DefaultClient
	}
	return nil
}

func isDir(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errdefs.NotFound("directory %s does not exist", p)
		}
		return err
	}
	if !fi.IsDir() {
		return errdefs.InvalidArgument("%s is not a directory", p)
	}
	return nil
}

// SHA256File returns the hex sha256 of a file's content.
func SHA256File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// step is one named phase of a build.
type step struct {
	name string
	run  func(context.Context) error
}

func (b *builder) steps() []step {
	return []step{
		{"checking the host", b.checkHost},
		{"fetching mise", b.fetchMise},
		{"debootstrap", b.debootstrap},
		{"installing banger's files", b.installFiles},
		{"configuring the system", b.configure},
		{"trimming", b.trim},
		{"making the ext4 filesystem", b.mkfs},
	}
}

func (b *builder) build(ctx context.Context) (res Result, err error) {
	name := b.o.Entry.Name
	b.scratch, err = os.MkdirTemp(b.o.WorkDir, "image-"+name+"-")
	if err != nil {
		return Result{}, fmt.Errorf("building image %s: %w", name, err)
	}
	b.tree = filepath.Join(b.scratch, "tree")
	defer func() {
		b.prog.Step("cleaning up")
		if err != nil {
			os.Remove(b.tmp)
		}
		if rerr := removeTree(ctx, b.o.Runner, b.scratch); rerr != nil {
			err = errors.Join(err, fmt.Errorf("building image %s: %w", name, rerr))
		}
	}()
	for _, s := range b.steps() {
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("building image %s: %w", name, err)
		}
		b.prog.Step(s.name)
		if err := s.run(ctx); err != nil {
			return Result{}, fmt.Errorf("building image %s: %s: %w", name, s.name, err)
		}
	}
	return b.finish()
}

// finish moves the finished image into place, synced so that a crash
// leaves the whole image or none.
func (b *builder) finish() (Result, error) {
	if err := atomicfile.Commit(b.tmp, b.o.Out); err != nil {
		return Result{}, fmt.Errorf("building image %s: %w", b.o.Entry.Name, err)
	}
	fi, err := os.Stat(b.o.Out)
	if err != nil {
		os.Remove(b.o.Out)
		return Result{}, fmt.Errorf("building image %s: %w", b.o.Entry.Name, err)
	}
	return Result{Path: b.o.Out, SizeBytes: fi.Size(), AllocatedBytes: allocated(fi), Hash: b.hash}, nil
}
