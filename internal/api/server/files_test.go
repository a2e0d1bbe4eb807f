package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

func TestFileRoutesRoundTrip(t *testing.T) {
	c, _ := execDaemon(t)
	ctx := copyCtx(t)
	fb := client.Files{Client: c, VM: "box"}
	if g, err := c.GuestInfo(ctx, "box"); err != nil || !slices.Contains(g.Features, api.FeatureWriteAttrs) {
		t.Fatalf("GuestInfo = %+v, %v; want the feature %s", g, err, api.FeatureWriteAttrs)
	}
	guest := t.TempDir()
	big := bytes.Repeat([]byte("#!/bin/sh\n"), 100_000) // past every window
	mode, mtime := uint32(0o755), time.Date(2022, 3, 4, 5, 6, 7, 0, time.UTC)
	p := filepath.Join(guest, "run.sh")
	f, err := fb.Write(ctx, api.WriteFileRequest{Path: p, Mode: &mode, Modified: &mtime}, bytes.NewReader(big))
	if err != nil || f.Path != p || f.Size != int64(len(big)) || f.Permissions != "-rwxr-xr-x" {
		t.Fatalf("Write = %+v, %v", f, err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode() != 0o755 || !st.ModTime().Equal(mtime) {
		t.Errorf("the guest's file: %v, %v; want mode 0755 and the time sent", st, err)
	}
	if f, err := fb.Stat(ctx, p); err != nil || f.Type != api.FileRegular || f.Size != int64(len(big)) {
		t.Errorf("Stat = %+v, %v", f, err)
	}
	r, f, err := fb.Read(ctx, p)
	if err != nil || f.Mode != uint32(0o755) || !f.Modified.Equal(mtime) {
		t.Fatalf("Read = %+v, %v", f, err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("read back %d bytes, %v; want the %d written", len(got), err, len(big))
	}
	// Without a mode, a new file is 0644 as for E2B's /files.
	plain := filepath.Join(guest, "plain")
	if _, err := fb.Write(ctx, api.WriteFileRequest{Path: plain}, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(plain); st == nil || st.Mode() != 0o644 {
		t.Errorf("a write without a mode made %v; want 0644", st)
	}
}

func TestFileRoutesErrors(t *testing.T) {
	c, _ := execDaemon(t)
	ctx := copyCtx(t)
	fb := client.Files{Client: c, VM: "box"}
	guest := t.TempDir()
	missing := filepath.Join(guest, "nope")
	if _, err := fb.Stat(ctx, missing); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Stat of a missing path: %v; want not found", err)
	}
	if _, _, err := fb.Read(ctx, guest); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Read of a directory: %v; want invalid argument", err)
	}
	if _, err := fb.Stat(ctx, "etc/hosts"); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "write it from /") {
		t.Errorf("Stat of a relative path: %v; want invalid argument saying how to fix it", err)
	}
	nosuch := client.Files{Client: c, VM: "nosuch"}
	if _, err := nosuch.Stat(ctx, "/etc"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Stat in a missing VM: %v; want not found", err)
	}
	if _, err := fb.Write(ctx, api.WriteFileRequest{Path: guest}, strings.NewReader("x")); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Write onto a directory: %v; want invalid argument", err)
	}
	broken := io.MultiReader(strings.NewReader("part"), errReader{})
	p := filepath.Join(guest, "broken")
	if _, err := fb.Write(ctx, api.WriteFileRequest{Path: p}, broken); !errors.Is(err, errBroken) {
		t.Errorf("a broken source: %v; want its error", err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a broken write left %s: %v", p, err)
	}
}

// oldHello has the agent see hellos without fs-write-attrs, as an agent
// from before it, which grants streams alone, answers them.
func oldHello(c net.Conn) net.Conn {
	host, agent := net.Pipe()
	go func() {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadBytes('\n')
			line = bytes.ReplaceAll(line, []byte(`,"`+api.FeatureWriteAttrs+`"`), nil)
			if _, werr := host.Write(line); err != nil || werr != nil {
				host.Close()
				return
			}
		}
	}()
	go func() { io.Copy(c, host); c.Close() }()
	return agent
}

func TestFileWriteWithAModeNeedsTheFeature(t *testing.T) {
	c, _ := execDaemonVia(t, oldHello)
	ctx := copyCtx(t)
	fb := client.Files{Client: c, VM: "box"}
	if g, err := c.GuestInfo(ctx, "box"); err != nil || slices.Contains(g.Features, api.FeatureWriteAttrs) {
		t.Fatalf("GuestInfo = %+v, %v; want no %s", g, err, api.FeatureWriteAttrs)
	}
	p := filepath.Join(t.TempDir(), "run.sh")
	mode := uint32(0o755)
	_, err := fb.Write(ctx, api.WriteFileRequest{Path: p, Mode: &mode}, strings.NewReader("x"))
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "banger image pull") {
		t.Errorf("a write with a mode on an older agent: %v; want failed precondition saying how to update", err)
	}
	if _, err := os.Lstat(p); err == nil {
		t.Error("the older agent wrote the file anyway")
	}
}

func TestFileListRoundTrip(t *testing.T) {
	c, _ := execDaemon(t)
	ctx := copyCtx(t)
	fb := client.Files{Client: c, VM: "box"}
	guest := t.TempDir()
	for _, d := range []string{"src/deep/er", "docs"} {
		os.MkdirAll(filepath.Join(guest, d), 0o755)
	}
	os.WriteFile(filepath.Join(guest, "src", "main.go"), []byte("package main\n"), 0o644)
	os.WriteFile(filepath.Join(guest, "src", "deep", "er", "x"), nil, 0o644)
	os.Symlink("src/main.go", filepath.Join(guest, "link"))
	paths := func(l api.FileList) (out []string) {
		for _, f := range l.Files {
			out = append(out, strings.TrimPrefix(f.Path, guest+"/")+":"+f.Type)
		}
		return out
	}
	l, err := fb.List(ctx, guest, 0, 0)
	if want := []string{"docs:dir", "link:symlink", "src:dir"}; err != nil || !slices.Equal(paths(l), want) || l.Truncated {
		t.Errorf("List at the default depth = %v (truncated %v), %v; want %v", paths(l), l.Truncated, err, want)
	}
	l, err = fb.List(ctx, guest, 2, 0)
	want := []string{"docs:dir", "link:symlink", "src:dir", "src/deep:dir", "src/main.go:file"}
	if err != nil || !slices.Equal(paths(l), want) {
		t.Errorf("List at depth 2 = %v, %v; want %v", paths(l), err, want)
	}
	if l.Files[4].Size != int64(len("package main\n")) || l.Files[4].Permissions != "-rw-r--r--" {
		t.Errorf("src/main.go is listed as %+v; want its size and permissions", l.Files[4])
	}
	l, err = fb.List(ctx, guest, 3, 4)
	if err != nil || !slices.Equal(paths(l), want[:4]) || !l.Truncated {
		t.Errorf("List of at most 4 = %v (truncated %v), %v; want the first 4, truncated", paths(l), l.Truncated, err)
	}
}

func TestFileListErrors(t *testing.T) {
	c, _ := execDaemon(t)
	ctx := copyCtx(t)
	fb := client.Files{Client: c, VM: "box"}
	guest := t.TempDir()
	os.WriteFile(filepath.Join(guest, "f"), nil, 0o644)
	for _, tc := range []struct {
		what         string
		path         string
		depth, limit int
		is           error
		says         string
	}{
		{"a relative path", "tmp", 1, 0, errdefs.ErrInvalidArgument, "write it from /"},
		{"a negative depth", guest, -1, 0, errdefs.ErrInvalidArgument, "from 1 to 8"},
		{"too deep", guest, api.MaxListDepth + 1, 0, errdefs.ErrInvalidArgument, "depth \"9\""},
		{"too many", guest, 1, api.MaxListFiles + 1, errdefs.ErrInvalidArgument, "limit"},
		{"a file", filepath.Join(guest, "f"), 1, 0, errdefs.ErrInvalidArgument, "not a directory"},
		{"a missing directory", filepath.Join(guest, "nope"), 1, 0, errdefs.ErrNotFound, "nope"},
	} {
		if _, err := fb.List(ctx, tc.path, tc.depth, tc.limit); !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("List of %s: %v; want %v saying %q", tc.what, err, tc.is, tc.says)
		}
	}
	nosuch := client.Files{Client: c, VM: "nosuch"}
	if _, err := nosuch.List(ctx, "/", 1, 0); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("List in a missing VM: %v; want not found", err)
	}
}

// noFSList has the agent see fs-list as an op it does not know, as an
// agent from before file operations would.
func noFSList(c net.Conn) net.Conn {
	host, agent := net.Pipe()
	go func() {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadBytes('\n')
			line = bytes.ReplaceAll(line, []byte(`"op":"fs-list"`), []byte(`"op":"fs-list-unknown"`))
			if _, werr := host.Write(line); err != nil || werr != nil {
				host.Close()
				return
			}
		}
	}()
	go func() { io.Copy(c, host); c.Close() }()
	return agent
}

func TestFileListOnAnOlderAgentSaysHowToUpdate(t *testing.T) {
	c, _ := execDaemonVia(t, noFSList)
	_, err := client.Files{Client: c, VM: "box"}.List(copyCtx(t), t.TempDir(), 1, 0)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "banger image pull") {
		t.Errorf("List on an agent without fs-list: %v; want failed precondition saying how to update", err)
	}
}
