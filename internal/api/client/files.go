package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"banger/internal/api"
)

// Files reaches single files of running VM VM through Client, with the
// guest agent's file operations. Guest paths are absolute.
type Files struct {
	Client *Client
	VM     string
}

func (f Files) route(name string) string { return "/vms/" + url.PathEscape(f.VM) + "/files/" + name }

// Stat describes the guest path p, not following a final symbolic link.
func (f Files) Stat(ctx context.Context, p string) (api.GuestFile, error) {
	var out api.GuestFile
	err := f.Client.Do(ctx, http.MethodGet, f.route("stat")+"?path="+url.QueryEscape(p), nil, &out)
	return out, err
}

// List lists the directory p (a link to one too) down to depth levels
// (1: its own entries), at most limit entries; 0 asks for the defaults
// (see api.FileList). An agent from before file operations gives an
// error of kind failed precondition.
func (f Files) List(ctx context.Context, p string, depth, limit int) (api.FileList, error) {
	q := url.Values{"path": {p}}
	if depth != 0 {
		q.Set("depth", strconv.Itoa(depth))
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out api.FileList
	err := f.Client.Do(ctx, http.MethodGet, f.route("list")+"?"+q.Encode(), nil, &out)
	return out, err
}

// Read opens the regular file p (a link to one too). The reader gives
// its bytes, then io.EOF, or the error that stopped the read; ctx bounds
// the reading too. Close it when done.
func (f Files) Read(ctx context.Context, p string) (io.ReadCloser, api.GuestFile, error) {
	pc, err := f.Client.upgrade(ctx, f.route("read"), api.FileRequest{Path: p})
	if err != nil {
		return nil, api.GuestFile{}, err
	}
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	o, err := pc.Next()
	if err == nil && o.File == nil {
		err = fmt.Errorf("bangerd began reading %s without describing it", p)
	}
	if err != nil {
		stop()
		pc.Close()
		return nil, api.GuestFile{}, ctxErr(ctx, err)
	}
	return &fileReader{ctx: ctx, p: pc, stop: stop}, *o.File, nil
}

// fileReader reads a file route's output frames.
type fileReader struct {
	ctx  context.Context
	p    *ProcessConn
	stop func() bool
	buf  []byte
	err  error
}

func (r *fileReader) Read(b []byte) (int, error) {
	for len(r.buf) == 0 && r.err == nil {
		o, err := r.p.Next()
		switch {
		case err != nil:
			r.err = ctxErr(r.ctx, err)
		case o.Exit != nil && o.Exit.Code == 0:
			r.err = io.EOF
		case o.Exit != nil:
			r.err = fmt.Errorf("bangerd ended the read with status %d; see `banger daemon logs`", o.Exit.Code)
		default:
			r.buf = o.Stdout
		}
	}
	if len(r.buf) == 0 {
		return 0, r.err
	}
	n := copy(b, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close ends the read; before its end, the guest stops sending.
func (r *fileReader) Close() error {
	r.stop()
	return r.p.Close()
}

// Write writes what r holds to the guest file req.Path, as req says; the
// file appears whole once r is at its end, or not at all. An error
// reading r stops the write and is returned as it is.
func (f Files) Write(ctx context.Context, req api.WriteFileRequest, r io.Reader) (api.GuestFile, error) {
	p, err := f.Client.upgrade(ctx, f.route("write"), req)
	if err != nil {
		return api.GuestFile{}, err
	}
	defer p.Close()
	stop := context.AfterFunc(ctx, func() { p.Close() })
	defer stop()
	sent := make(chan error, 1)
	go func() { sent <- p.sendAll(r) }()
	out, err := p.awaitFile(req.Path)
	p.Close() // a sender still waiting on bangerd gives up
	if se, ok := errors.AsType[*sourceError](<-sent); ok {
		return api.GuestFile{}, se.err
	}
	return out, ctxErr(ctx, err)
}

// awaitFile reads a file write's answer: the file, then status 0.
func (p *ProcessConn) awaitFile(path string) (api.GuestFile, error) {
	var f *api.GuestFile
	for {
		o, err := p.Next()
		switch {
		case err != nil:
			return api.GuestFile{}, err
		case o.File != nil:
			f = o.File
		case o.Exit != nil && (o.Exit.Code != 0 || f == nil):
			return api.GuestFile{}, fmt.Errorf("writing %s: bangerd ended the write with status %d and no file; see `banger daemon logs`", path, o.Exit.Code)
		case o.Exit != nil:
			return *f, nil
		}
	}
}
