package vmdisk

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
)

// sorted lists the plan's paths with every directory before what it holds.
func (p *workPlan) sorted() []string {
	rels := make([]string, 0, len(p.items))
	for r := range p.items {
		rels = append(rels, r)
	}
	slices.Sort(rels) // "a" sorts before "a/b"
	return rels
}

// stage writes the plan into dir, the tree mkfs.ext4 -d copies.
// Directories get their modes last, so that a read-only one can still be
// filled.
func (p *workPlan) stage(ctx context.Context, dir string) error {
	rels := p.sorted()
	for _, rel := range rels {
		if err := ctx.Err(); err != nil {
			return err
		}
		it := p.items[rel]
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		var err error
		switch {
		case it.mode.IsDir():
			err = os.Mkdir(dst, 0o700)
		case it.mode&fs.ModeSymlink != 0:
			err = os.Symlink(it.link, dst)
		default:
			err = it.copyTo(dst)
		}
		if err != nil {
			return err
		}
	}
	for i := len(rels) - 1; i >= 0; i-- {
		if it := p.items[rels[i]]; it.mode.IsDir() {
			if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(it.rel)), it.mode); err != nil {
				return err
			}
		}
	}
	return os.Chmod(dir, 0o700)
}

// copyTo writes the item's content to a new file dst with its mode.
func (it *item) copyTo(dst string) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	if it.src != "" {
		in, err := os.Open(it.src)
		if err != nil {
			return fmt.Errorf("copying %s: %w", it.src, err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			return fmt.Errorf("copying %s: %w", it.src, err)
		}
	}
	if _, err := out.Write(it.extra); err != nil {
		return err
	}
	if err := out.Chmod(it.mode); err != nil {
		return err
	}
	return out.Close()
}

// Sizes in ext4 that usage counts.
const (
	maxExtentBlocks = 32768 // blocks one extent maps
	inodeExtents    = 4     // extents that fit in the inode itself
	fastSymlinkMax  = 59    // longest symlink target kept in the inode
	dirTail         = 12    // checksum tail of a directory block
	dotEntries      = 24    // "." and ".." in a directory's first block
)

// usage estimates the blocks (of blockSize bytes) and inodes the plan's
// content takes in ext4, with a margin for the allocator's choices.
func (p *workPlan) usage(blockSize int64) (blocks, inodes int64) {
	dirBytes := map[string]int64{".": dotEntries}
	for rel, it := range p.withTrees() {
		inodes++
		parent := path.Dir(rel)
		dirBytes[parent] += 8 + (int64(len(path.Base(rel)))+3)&^3
		switch {
		case it.mode.IsDir():
			dirBytes[rel] += dotEntries
		case it.mode&fs.ModeSymlink != 0:
			if len(it.link) > fastSymlinkMax || it.size > fastSymlinkMax {
				blocks++
			}
		default:
			blocks += fileBlocks(it.size, blockSize)
		}
	}
	for _, n := range dirBytes {
		b := ceilDiv(n, blockSize-dirTail)
		if b > 1 {
			b++ // the hash tree's index block
		}
		blocks += b
	}
	return blocks + blocks/64 + 16, inodes
}

// fileBlocks counts the data and extent-tree blocks of a file of size
// bytes written in one piece.
func fileBlocks(size, blockSize int64) int64 {
	data := ceilDiv(size, blockSize)
	extents := ceilDiv(data, maxExtentBlocks)
	if extents <= inodeExtents {
		return data
	}
	return data + ceilDiv(extents, (blockSize-12)/12)
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
