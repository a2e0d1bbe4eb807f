package oci

import (
	"context"
	"errors"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// download puts every layer blob into the cache, skipping those present.
func (p *puller) download(ctx context.Context, img v1.Image, layers []v1.Descriptor) error {
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		step := fmt.Sprintf("downloading layer %d/%d %s", i+1, len(layers), shortDigest(l.Digest))
		p.prog.Step(step)
		if p.cache.has(l.Digest, l.Size) {
			p.prog.Note(step, "already cached")
			continue
		}
		if err := p.fetch(ctx, img, l, step); err != nil {
			return fmt.Errorf("downloading layer %s of %s: %w", l.Digest, p.o.Ref, err)
		}
	}
	return nil
}

func (p *puller) fetch(ctx context.Context, img v1.Image, l v1.Descriptor, step string) error {
	if _, err := p.cache.path(l.Digest); err != nil {
		return err
	}
	layer, err := img.LayerByDigest(l.Digest)
	if err != nil {
		return err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	err = p.cache.store(l.Digest, l.Size, p.prog.Reader(rc, step, l.Size))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// errCorruptBlob marks a cached blob whose content does not match its
// digest. The blob is dropped from the cache when found.
var errCorruptBlob = errors.New("corrupt cached blob")

// fetchAndFlatten downloads the layers and flattens them into a fresh tree
// under WorkDir. A corrupt cached blob is dropped and the work redone, which
// ends because every round drops one blob.
func (p *puller) fetchAndFlatten(ctx context.Context, img v1.Image, layers []v1.Descriptor) (string, error) {
	for round := 0; ; round++ {
		if err := p.download(ctx, img, layers); err != nil {
			return "", err
		}
		tree, err := p.flatten(ctx, layers)
		if err == nil || !errors.Is(err, errCorruptBlob) || round >= len(layers) {
			return tree, err
		}
		p.prog.Note("unpacking", err.Error()+": downloading it again")
	}
}

// flatten unpacks the cached layers into a new tree, removed on failure.
func (p *puller) flatten(ctx context.Context, layers []v1.Descriptor) (string, error) {
	p.prog.Step("unpacking")
	tree, err := os.MkdirTemp(p.o.WorkDir, "oci-rootfs-")
	if err != nil {
		return "", fmt.Errorf("creating scratch tree: %w", err)
	}
	if err := p.unpack(ctx, tree, layers); err != nil {
		removeTree(tree)
		return "", err
	}
	return tree, nil
}

func (p *puller) unpack(ctx context.Context, tree string, layers []v1.Descriptor) error {
	fl, err := newFlattener(tree, p.o.MaxUnpacked, p.warn)
	if err != nil {
		return err
	}
	defer fl.close()
	for _, l := range layers {
		if err := p.unpackLayer(ctx, fl, l.Digest); err != nil {
			return fmt.Errorf("unpacking layer %s of %s: %w", l.Digest, p.o.Ref, err)
		}
	}
	if err := fl.finish(); err != nil {
		return fmt.Errorf("unpacking %s: %w", p.o.Ref, err)
	}
	return nil
}

// unpackLayer applies one cached blob, checking its digest as it goes.
func (p *puller) unpackLayer(ctx context.Context, fl *flattener, h v1.Hash) error {
	br, err := p.cache.open(h)
	if err != nil {
		return err
	}
	defer br.Close()
	applyErr := fl.applyLayer(ctx, br)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := br.verify(); err != nil {
		p.cache.remove(h)
		return fmt.Errorf("%w: %w", errCorruptBlob, err)
	}
	return applyErr
}

// build turns tree into the ext4 image at Out, through Out.tmp.
func (p *puller) build(ctx context.Context, tree string) (err error) {
	size := p.o.Size
	if size == 0 {
		content, err := treeSize(tree)
		if err != nil {
			return fmt.Errorf("measuring %s: %w", p.o.Ref, err)
		}
		size = defaultSize(content)
	}
	p.prog.Step("creating ext4 image")
	tmp := p.o.Out + ".tmp"
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := mkfs(ctx, p.o.Runner, tree, tmp, size); err != nil {
		return fmt.Errorf("creating ext4 image %s: %w", p.o.Out, err)
	}
	if err := publish(tmp, p.o.Out); err != nil {
		return err
	}
	p.res.SizeBytes = size
	return nil
}

// shortDigest is a digest trimmed for display: "sha256:0123456789ab".
func shortDigest(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Algorithm + ":" + h.Hex[:12]
	}
	return h.String()
}
