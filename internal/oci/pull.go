package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

const defaultPlatform = "linux/amd64"

// Pull fetches o.Ref and writes a bootable ext4 image of it to o.Out. Layer
// blobs are kept in o.CacheDir, so pulling again downloads nothing that is
// already there. On failure neither o.Out nor its temporary file is left
// behind; cached blobs stay.
func Pull(ctx context.Context, o PullOptions) (Result, error) {
	p, err := newPuller(o)
	if err != nil {
		return Result{}, err
	}
	if err := p.run(ctx); err != nil {
		return Result{}, err
	}
	return p.res, nil
}

// puller holds one pull's state while it goes through its steps.
type puller struct {
	o      PullOptions
	ref    name.Reference
	plat   v1.Platform
	cache  blobCache
	prog   progress.Func
	warned map[string]bool
	res    Result
}

func newPuller(o PullOptions) (*puller, error) {
	var opts []name.Option
	if o.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := parseRef(o.Ref, opts...)
	if err != nil {
		return nil, err
	}
	if o.Platform == "" {
		o.Platform = defaultPlatform
	}
	plat, err := v1.ParsePlatform(o.Platform)
	if err != nil {
		return nil, errdefs.InvalidArgument("invalid platform %q (%v): use a form like %s", o.Platform, err, defaultPlatform)
	}
	if o.WorkDir == "" {
		o.WorkDir = filepath.Dir(o.Out)
	}
	if err := checkPaths(o); err != nil {
		return nil, err
	}
	return &puller{o: o, ref: ref, plat: *plat, cache: blobCache{o.CacheDir}, prog: o.Progress, warned: map[string]bool{}}, nil
}

// checkPaths catches bad options before anything is downloaded.
func checkPaths(o PullOptions) error {
	switch {
	case o.CacheDir == "":
		return errdefs.InvalidArgument("no blob cache directory given")
	case o.Out == "":
		return errdefs.InvalidArgument("no output image path given")
	case o.Size < 0:
		return errdefs.InvalidArgument("image size %d is negative", o.Size)
	case o.MaxUnpacked < 0:
		return errdefs.InvalidArgument("unpack limit %d is negative", o.MaxUnpacked)
	}
	if _, err := os.Lstat(o.Out); !errors.Is(err, fs.ErrNotExist) {
		return errdefs.AlreadyExists("%s already exists: remove it or choose another path", o.Out)
	}
	fi, err := os.Stat(o.AgentBin)
	if err != nil || !fi.Mode().IsRegular() {
		return errdefs.FailedPrecondition("guest agent binary %q is missing: reinstall banger", o.AgentBin)
	}
	return nil
}

func (p *puller) run(ctx context.Context) error {
	p.prog.Step("resolving " + p.o.Ref)
	img, err := resolve(ctx, p.ref, p.plat, p.o.Ref)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("reading manifest of %s: %w", p.o.Ref, err)
	}
	p.res.Digest = digest.String()
	if p.res.Config, err = p.config(img); err != nil {
		return err
	}
	layers, err := p.layers(img)
	if err != nil {
		return err
	}
	tree, err := p.fetchAndFlatten(ctx, img, layers)
	if err != nil {
		return err
	}
	defer removeTree(tree)
	p.prog.Step("installing banger agent")
	inj, err := inject(tree, p.o.AgentBin, p.res.Config)
	if err != nil {
		return err
	}
	p.res.HasInit, p.res.HasSSHD = inj.hasInit, inj.hasSSHD
	return p.build(ctx, tree)
}

// config reads the image configuration, through the cache.
func (p *puller) config(img v1.Image) (ImageConfig, error) {
	// The manifest names the config; img.ConfigName would fetch it.
	m, err := img.Manifest()
	if err != nil {
		return ImageConfig{}, fmt.Errorf("reading manifest of %s: %w", p.o.Ref, err)
	}
	h := m.Config.Digest
	raw, err := p.cache.readAll(h)
	if err != nil {
		if raw, err = img.RawConfigFile(); err != nil {
			return ImageConfig{}, fmt.Errorf("fetching config of %s: %w", p.o.Ref, err)
		}
		if err := p.cache.store(h, int64(len(raw)), bytes.NewReader(raw)); err != nil {
			return ImageConfig{}, fmt.Errorf("caching config of %s: %w", p.o.Ref, err)
		}
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return ImageConfig{}, fmt.Errorf("parsing config of %s: %w", p.o.Ref, err)
	}
	if (cf.OS != "" && cf.OS != p.plat.OS) || (cf.Architecture != "" && cf.Architecture != p.plat.Architecture) {
		return ImageConfig{}, errdefs.InvalidArgument("image %s is built for %s/%s, not %s", p.o.Ref, cf.OS, cf.Architecture, p.plat)
	}
	c := cf.Config
	return ImageConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkDir: c.WorkingDir, User: c.User}, nil
}

// layers lists the image's layers, lowest first.
func (p *puller) layers(img v1.Image) ([]v1.Descriptor, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest of %s: %w", p.o.Ref, err)
	}
	for _, l := range m.Layers {
		if !l.MediaType.IsDistributable() {
			return nil, errdefs.InvalidArgument("image %s has a non-distributable layer %s (%s), which banger cannot fetch", p.o.Ref, l.Digest, l.MediaType)
		}
	}
	return m.Layers, nil
}

// warn records a non-fatal problem once.
func (p *puller) warn(msg string) {
	if p.warned[msg] {
		return
	}
	p.warned[msg] = true
	p.res.Warnings = append(p.res.Warnings, msg)
	p.prog.Note("unpacking", msg)
}
