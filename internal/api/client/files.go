package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"banger/internal/api"
)

// StatFile describes the absolute guest path p of running VM vm, not
// following a final symbolic link.
func (c *Client) StatFile(ctx context.Context, vm, p string) (api.GuestFile, error) {
	var f api.GuestFile
	err := c.Do(ctx, http.MethodGet, "/vms/"+url.PathEscape(vm)+"/files/stat?path="+url.QueryEscape(p), nil, &f)
	return f, err
}

// ReadFile opens the regular file p (a link to one too) of running VM vm.
// The reader gives its bytes, then io.EOF, or the error that stopped
// the read; ctx bounds the reading too. Close it when done.
func (c *Client) ReadFile(ctx context.Context, vm, p string) (io.ReadCloser, api.GuestFile, error) {
	pc, err := c.upgrade(ctx, "/vms/"+url.PathEscape(vm)+"/files/read", api.FileRequest{Path: p})
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

// WriteFile writes what r holds to a guest file of running VM vm, as req
// says; the file appears whole once r is at its end, or not at all. An
// error reading r stops the write and is returned as it is.
func (c *Client) WriteFile(ctx context.Context, vm string, req api.WriteFileRequest, r io.Reader) (api.GuestFile, error) {
	p, err := c.upgrade(ctx, "/vms/"+url.PathEscape(vm)+"/files/write", req)
	if err != nil {
		return api.GuestFile{}, err
	}
	defer p.Close()
	stop := context.AfterFunc(ctx, func() { p.Close() })
	defer stop()
	sent := make(chan error, 1)
	go func() { sent <- p.sendAll(r) }()
	f, err := p.awaitFile(req.Path)
	p.Close() // a sender still waiting on bangerd gives up
	if se, ok := errors.AsType[*sourceError](<-sent); ok {
		return api.GuestFile{}, se.err
	}
	return f, ctxErr(ctx, err)
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
