package mcp

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"banger/internal/api"
	"banger/internal/errdefs"
)

const listFilesHelp = `List a directory of a sandbox: each entry's path (relative to the directory),
type (file, dir, symlink, other) and size, down to depth levels (default 1,
at most 5). path is absolute, or relative to the sandbox's workdir (the
default). At most 2000 entries; a note says when there were more.`

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

// listScript lists directory $1 to depth $2, NUL-separated, as
// "TYPE SIZE PATH" with find's type letters; status 20 when $1 is not a
// directory.
const listScript = `[ -d "$1" ] || { echo "$1 is not a directory" >&2; exit 20; }
cd "$1" && exec find . -mindepth 1 -maxdepth "$2" -printf '%y %s %P\0'`

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
	req := api.ExecRequest{Command: []string{"/bin/sh", "-c", listScript, "sh", dir, strconv.Itoa(depth)}}
	res, err := s.execute(ctx, sb.vm.Name, req, execLimits{timeout: time.Minute, output: s.opts.MaxOutput}, nil)
	switch {
	case err != nil:
		return listFilesOut{}, fmt.Errorf("listing %s in sandbox %s: %w", dir, sb.vm.Name, err)
	case res.Code == 20:
		return listFilesOut{}, errdefs.InvalidArgument("%s in sandbox %s is not a directory (or does not exist): sandbox_list_files of its parent shows what is there", dir, sb.vm.Name)
	case res.Code != 0:
		return listFilesOut{}, fmt.Errorf("listing %s in sandbox %s: find exited with status %d: %s", dir, sb.vm.Name, res.Code, strings.TrimSpace(res.Stderr.String()))
	}
	return parseListing(dir, res.Stdout), nil
}

// parseListing reads find's output; an entry cut by the output limit is
// left out.
func parseListing(dir string, out *clip) listFilesOut {
	res := listFilesOut{Dir: dir, Entries: []fileEntry{}}
	data := out.head
	if out.cut() == 0 {
		data = append(bytes.Clone(out.head), out.tail...)
	}
	recs := bytes.Split(data, []byte{0})
	recs = recs[:len(recs)-1] // what follows the last NUL is cut, or nothing
	for _, r := range recs {
		typ, rest, _ := strings.Cut(string(r), " ")
		size, name, _ := strings.Cut(rest, " ")
		n, _ := strconv.ParseInt(size, 10, 64)
		if len(res.Entries) == maxListEntries {
			res.Truncated = true
			break
		}
		res.Entries = append(res.Entries, fileEntry{Path: toText(name), Type: fileType(typ), Size: n})
	}
	if out.cut() > 0 {
		res.Truncated = true
	}
	if res.Truncated {
		res.Note = fmt.Sprintf("only the first %d entries are listed: list a subdirectory, or less deep", len(res.Entries))
	}
	return res
}

func fileType(letter string) string {
	switch letter {
	case "f":
		return "file"
	case "d":
		return "dir"
	case "l":
		return "symlink"
	}
	return "other"
}
