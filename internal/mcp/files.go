package mcp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

const readHelp = `Read a file of a sandbox. path is absolute, or relative to the sandbox's
workdir. Text comes back as it is; a file that is not UTF-8 comes back in
base64 (encoding says which). At most max_bytes (default and limit 1 MiB) are
returned, with a note when the file is longer: read the rest with offset.`

const writeHelp = `Write a file in a sandbox, replacing it whole (it appears complete or not at
all), making missing parent directories. path is absolute, or relative to the
sandbox's workdir. content is text, or base64 with encoding "base64"; at most
8 MiB. mode, octal such as "0755", sets the permissions (default: 0644 for a
new file, unchanged for an existing one).`

// readIn are sandbox_read_file's arguments.
type readIn struct {
	Sandbox  string `json:"sandbox" jsonschema:"the sandbox's name"`
	Path     string `json:"path" jsonschema:"the file; absolute, or relative to the sandbox's workdir"`
	Offset   int64  `json:"offset,omitempty" jsonschema:"skip this many bytes first"`
	MaxBytes int    `json:"max_bytes,omitempty" jsonschema:"return at most this many bytes; default and limit 1048576"`
}

// fileOut is a file's content.
type fileOut struct {
	Path      string `json:"path"`
	Size      int64  `json:"size" jsonschema:"the whole file's size in bytes"`
	Content   string `json:"content"`
	Encoding  string `json:"encoding" jsonschema:"utf-8, or base64 for a file that is not text"`
	Truncated bool   `json:"truncated,omitempty"`
	Note      string `json:"note,omitempty"`
}

func (s *Server) readFile(ctx context.Context, call *toolCall, in readIn) (fileOut, error) {
	limit := in.MaxBytes
	if limit <= 0 || limit > MaxReadBytes {
		limit = MaxReadBytes
	}
	if in.Offset < 0 {
		return fileOut{}, errdefs.InvalidArgument("offset %d: give 0 or more", in.Offset)
	}
	sb, p, err := s.fileTarget(ctx, call, in.Sandbox, in.Path)
	if err != nil {
		return fileOut{}, err
	}
	var data []byte
	var info api.GuestFile
	err = s.call(ctx, func(c *client.Client) error {
		rc, fi, err := client.Files{Client: c, VM: sb.vm.Name}.Read(ctx, p)
		if err != nil {
			return err
		}
		defer rc.Close()
		info = fi
		if _, err := io.CopyN(io.Discard, rc, in.Offset); err != nil && err != io.EOF {
			return err
		}
		data, err = io.ReadAll(io.LimitReader(rc, int64(limit)))
		return err
	})
	if err != nil {
		return fileOut{}, fmt.Errorf("reading %s in sandbox %s: %w", p, sb.vm.Name, err)
	}
	out := fileOut{Path: p, Size: info.Size, Content: string(data), Encoding: "utf-8"}
	if !utf8.Valid(data) {
		out.Content, out.Encoding = base64.StdEncoding.EncodeToString(data), "base64"
	}
	if end := in.Offset + int64(len(data)); end < info.Size {
		out.Truncated = true
		out.Note = fmt.Sprintf("returned bytes %d to %d of %d: call again with offset %d for more", in.Offset, end, info.Size, end)
	}
	return out, nil
}

// writeIn are sandbox_write_file's arguments.
type writeIn struct {
	Sandbox  string `json:"sandbox" jsonschema:"the sandbox's name"`
	Path     string `json:"path" jsonschema:"the file; absolute, or relative to the sandbox's workdir"`
	Content  string `json:"content" jsonschema:"the file's content"`
	Encoding string `json:"encoding,omitempty" jsonschema:"utf-8 (default) or base64"`
	Mode     string `json:"mode,omitempty" jsonschema:"permissions in octal, such as 0644 or 0755"`
}

// writeOut is the file written.
type writeOut struct {
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	Permissions string `json:"permissions"`
}

func (s *Server) writeFile(ctx context.Context, call *toolCall, in writeIn) (writeOut, error) {
	data, mode, err := writeArgs(in)
	if err != nil {
		return writeOut{}, err
	}
	sb, p, err := s.fileTarget(ctx, call, in.Sandbox, in.Path)
	if err != nil {
		return writeOut{}, err
	}
	var fi api.GuestFile
	err = s.call(ctx, func(c *client.Client) (err error) {
		fi, err = client.Files{Client: c, VM: sb.vm.Name}.Write(ctx, api.WriteFileRequest{Path: p, Mode: mode}, bytes.NewReader(data))
		return err
	})
	if err != nil {
		return writeOut{}, fmt.Errorf("writing %s in sandbox %s: %w", p, sb.vm.Name, err)
	}
	return writeOut{Path: p, Size: fi.Size, Permissions: fi.Permissions}, nil
}

// writeArgs decodes sandbox_write_file's content and mode.
func writeArgs(in writeIn) ([]byte, *uint32, error) {
	data := []byte(in.Content)
	switch in.Encoding {
	case "", "utf-8", "utf8", "text":
	case "base64":
		var err error
		if data, err = base64.StdEncoding.DecodeString(in.Content); err != nil {
			return nil, nil, errdefs.InvalidArgument("content is not base64 (%v): encode it with standard base64, or give text with encoding utf-8", err)
		}
	default:
		return nil, nil, errdefs.InvalidArgument("encoding %q: give utf-8 or base64", in.Encoding)
	}
	if len(data) > MaxWriteBytes {
		return nil, nil, errdefs.InvalidArgument("content is %d bytes, more than %d: split the file, or make it in the sandbox with sandbox_run", len(data), MaxWriteBytes)
	}
	if in.Mode == "" {
		return data, nil, nil
	}
	m, err := strconv.ParseUint(in.Mode, 8, 32)
	if err != nil || m > 0o7777 {
		return nil, nil, errdefs.InvalidArgument("mode %q: give permissions in octal, such as 0644 or 0755", in.Mode)
	}
	mode := uint32(m)
	return data, &mode, nil
}

// fileTarget finds the sandbox and the absolute guest path of a file
// tool.
func (s *Server) fileTarget(ctx context.Context, call *toolCall, name, p string) (sandbox, string, error) {
	if p == "" {
		return sandbox{}, "", errdefs.InvalidArgument("path is empty: give a guest path, such as /root/notes.txt")
	}
	if _, err := guestPath("/", "path", p); err != nil {
		return sandbox{}, "", err
	}
	sb, err := s.sandboxOf(ctx, call.st, name)
	if err != nil {
		return sandbox{}, "", err
	}
	abs, err := guestPath(sb.workdir, "path", p)
	return sb, abs, err
}

// guestPath resolves p, absolute or relative to dir, refusing what the
// guest's paths may not hold: NUL bytes, and ".." steps, which a path an
// agent means never needs.
func guestPath(dir, what, p string) (string, error) {
	switch {
	case strings.IndexByte(p, 0) >= 0:
		return "", errdefs.InvalidArgument("%s %q has a NUL byte, which no guest path may hold", what, p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return "", errdefs.InvalidArgument("%s %q has a '..' step: write the path without it, absolute (such as /root/app/x) or relative to the sandbox's workdir", what, p)
	case path.IsAbs(p):
		return path.Clean(p), nil
	}
	return path.Join(dir, p), nil
}
