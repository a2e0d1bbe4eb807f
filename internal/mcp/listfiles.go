package mcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

const listFilesHelp = `List a directory of a sandbox: each entry's path (relative to the directory),
type (file, dir, symlink, other) and size, down to depth levels (default 1, at
most 5), depth first and sorted by name. path is absolute, or relative to the
sandbox's workdir (the default). At most 2000 entries; a note says when there
were more.`

// Bounds of a listing.
const (
	maxListEntries = 2000
	maxListDepth   = 5
)

// listFilesIn are sandbox_list_files' arguments.
type listFilesIn struct {
	Sandbox string `json:"sandbox" jsonschema:"the sandbox's name"`
	Path    string `json:"path,omitempty" jsonschema:"the directory; absolute, or relative to the sandbox's workdir (the default)"`
	Depth   int    `json:"depth,omitempty" jsonschema:"how many levels down to list; default 1, at most 5"`
}

// fileEntry is one entry of a listing.
type fileEntry struct {
	Path string `json:"path"`
	Type string `json:"type" jsonschema:"file, dir, symlink or other"`
	Size int64  `json:"size"`
}

// listFilesOut is a listing.
type listFilesOut struct {
	Dir       string      `json:"dir"`
	Entries   []fileEntry `json:"entries"`
	Truncated bool        `json:"truncated,omitempty"`
	Note      string      `json:"note,omitempty"`
}

func (s *Server) listFiles(ctx context.Context, call *toolCall, in listFilesIn) (listFilesOut, error) {
	depth := in.Depth
	if depth == 0 {
		depth = 1
	}
	if depth < 1 || depth > maxListDepth {
		return listFilesOut{}, errdefs.InvalidArgument("depth %d: give 1 to %d", in.Depth, maxListDepth)
	}
	p := in.Path
	if p == "" {
		p = "."
	}
	sb, dir, err := s.fileTarget(ctx, call, in.Sandbox, p)
	if err != nil {
		return listFilesOut{}, err
	}
	var l api.FileList
	err = s.call(ctx, func(c *client.Client) (err error) {
		l, err = client.Files{Client: c, VM: sb.vm.Name}.List(ctx, dir, depth, maxListEntries)
		return err
	})
	switch {
	case errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, errdefs.ErrInvalidArgument):
		return listFilesOut{}, fmt.Errorf("listing %s in sandbox %s: %w; sandbox_list_files of its parent shows what is there", dir, sb.vm.Name, err)
	case errors.Is(err, errdefs.ErrFailedPrecondition):
		return listFilesOut{}, fmt.Errorf("listing %s in sandbox %s: %w; meanwhile sandbox_run of `ls -la %s` lists it", dir, sb.vm.Name, err, dir)
	case err != nil:
		return listFilesOut{}, fmt.Errorf("listing %s in sandbox %s: %w", dir, sb.vm.Name, err)
	}
	return listingOf(dir, l), nil
}

// listingOf gives a listing's entries relative to dir.
func listingOf(dir string, l api.FileList) listFilesOut {
	out := listFilesOut{Dir: dir, Entries: make([]fileEntry, 0, len(l.Files)), Truncated: l.Truncated}
	for _, f := range l.Files {
		rel := strings.TrimPrefix(strings.TrimPrefix(f.Path, dir), "/")
		out.Entries = append(out.Entries, fileEntry{Path: rel, Type: f.Type, Size: f.Size})
	}
	if out.Truncated {
		out.Note = fmt.Sprintf("only the first %d entries are listed: list a subdirectory, or less deep", len(out.Entries))
	}
	return out
}
