package kernel

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/blakesmith/ar"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"banger/internal/errdefs"
)

// ExtractDeb unpacks the data member of a .deb into destDir. keep sees
// each tar path without its "./" prefix (e.g. "boot/vmlinuz-6.1.0-1-amd64")
// and chooses what is written; parent directories are made as needed.
// Regular files, directories, symlinks and hard links are written; an
// entry whose path leaves destDir is refused, and writing never follows a
// symlink out of destDir (absolute link targets are created, not followed).
func ExtractDeb(debPath, destDir string, keep func(name string) bool) error {
	return extractDeb(context.Background(), debPath, destDir, keep)
}

func extractDeb(ctx context.Context, debPath, destDir string, keep func(string) bool) error {
	f, err := os.Open(debPath)
	if err != nil {
		return fmt.Errorf("extracting %s: %w", debPath, err)
	}
	defer f.Close()
	data, closeData, err := openDataTar(f)
	if err != nil {
		return fmt.Errorf("extracting %s: %w", debPath, err)
	}
	defer closeData()
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return fmt.Errorf("extracting %s: %w", debPath, err)
	}
	root, err := os.OpenRoot(destDir)
	if err != nil {
		return fmt.Errorf("extracting %s: %w", debPath, err)
	}
	defer root.Close()
	if err := extractTar(ctx, tar.NewReader(data), root, keep); err != nil {
		return fmt.Errorf("extracting %s: %w", debPath, err)
	}
	return nil
}

const arMagic = "!<arch>\n"

// openDataTar finds the data.tar.* member of the ar archive and returns
// its decompressed stream.
func openDataTar(r io.Reader) (io.Reader, func(), error) {
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != arMagic {
		return nil, nil, errdefs.InvalidArgument("not a .deb (no ar archive header)")
	}
	arc := ar.NewReader(io.MultiReader(bytes.NewReader(magic), r))
	for {
		hdr, err := arc.Next()
		if err == io.EOF {
			return nil, nil, errdefs.InvalidArgument("not a .deb (no data.tar member)")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading ar archive: %w", err)
		}
		name := strings.TrimRight(hdr.Name, " /")
		if strings.HasPrefix(name, "data.tar") {
			return decompressMember(name, arc)
		}
	}
}

func decompressMember(name string, member io.Reader) (io.Reader, func(), error) {
	nop := func() {}
	// The xz decoder reads byte by byte; buffering makes it ~6x faster.
	r := bufio.NewReaderSize(member, 1<<20)
	switch strings.TrimPrefix(name, "data.tar") {
	case "":
		return r, nop, nil
	case ".xz":
		xr, err := xz.NewReader(r)
		return xr, nop, wrapIf(err, name)
	case ".gz":
		gr, err := gzip.NewReader(r)
		return gr, nop, wrapIf(err, name)
	case ".zst":
		zr, err := zstd.NewReader(r)
		if err != nil {
			return nil, nil, wrapIf(err, name)
		}
		return zr, zr.Close, nil
	}
	return nil, nil, errdefs.InvalidArgument("unsupported .deb member %s", name)
}

func wrapIf(err error, what string) error {
	if err != nil {
		return fmt.Errorf("opening %s: %w", what, err)
	}
	return nil
}
