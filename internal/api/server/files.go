package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/api"
	"banger/internal/errdefs"
)

// fileChunk is the size of the output frames of a file read.
const fileChunk = 32 << 10

// fileRoutes adds the routes of one guest file (see api.FileRequest),
// served with the agent client calls the E2B sandbox API's /files uses.
func (g *guestAPI) fileRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+api.Prefix+"/vms/{name}/files/stat", g.getFileStat)
	mux.HandleFunc("GET "+api.Prefix+"/vms/{name}/files/list", g.getFileList)
	mux.HandleFunc("POST "+api.Prefix+"/vms/{name}/files/read", g.postFileRead)
	mux.HandleFunc("POST "+api.Prefix+"/vms/{name}/files/write", g.postFileWrite)
}

func checkGuestPath(p string) error {
	if !path.IsAbs(p) {
		return errdefs.InvalidArgument("guest path %q is not absolute: write it from /", p)
	}
	return nil
}

// pathAgent checks a request's guest path p, after err from reading the
// rest of its query, and finds the VM's agent link. It reports false when
// it has answered with an error.
func (g *guestAPI) pathAgent(w http.ResponseWriter, r *http.Request, p string, err error) (*agentclient.Mux, bool) {
	if err == nil {
		err = checkGuestPath(p)
	}
	var m *agentclient.Mux
	if err == nil {
		m, err = g.guests.Agent(r.Context(), r.PathValue("name"))
	}
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	return m, true
}

func (g *guestAPI) getFileStat(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("path")
	m, ok := g.pathAgent(w, r, p, nil)
	if !ok {
		return
	}
	fi, err := m.Stat(r.Context(), p)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, fileToAPI(fi))
}

// getFileList lists a directory, cut at the limit asked for.
func (g *guestAPI) getFileList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := q.Get("path")
	depth, err := listBound(q.Get("depth"), "depth", 1, api.MaxListDepth)
	limit := api.MaxListFiles
	if err == nil {
		limit, err = listBound(q.Get("limit"), "limit", api.MaxListFiles, api.MaxListFiles)
	}
	m, ok := g.pathAgent(w, r, p, err)
	if !ok {
		return
	}
	files, err := m.ListDir(r.Context(), p, depth)
	if err != nil {
		writeError(w, err)
		return
	}
	out := api.FileList{Files: make([]api.GuestFile, 0, min(len(files), limit))}
	for _, fi := range files[:min(len(files), limit)] {
		out.Files = append(out.Files, fileToAPI(fi))
	}
	out.Truncated = len(files) > limit
	writeJSON(w, http.StatusOK, out)
}

// listBound reads a listing's query number, def when empty, which must
// lie in 1..most.
func listBound(v, what string, def, most int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, errdefs.InvalidArgument("%s %q: give a number from 1 to %d", what, v, most)
	}
	return n, nil
}

// postFileRead streams a regular file's bytes as output frames.
func (g *guestAPI) postFileRead(w http.ResponseWriter, r *http.Request) {
	var req api.FileRequest
	m, ok := g.streamRequest(w, r, &req)
	if !ok {
		return
	}
	if err := checkGuestPath(req.Path); err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	rc, info, err := m.ReadFile(ctx, req.Path)
	if err != nil {
		writeError(w, err)
		return
	}
	defer rc.Close()
	conn, brw, err := upgradeConn(w)
	if err != nil {
		g.log.Warn("switching to a stream", "err", err)
		return
	}
	defer conn.Close()
	go func() { // the client sends nothing; its leaving ends the read
		for _, _, err := api.ReadFrame(brw.Reader); err == nil; _, _, err = api.ReadFrame(brw.Reader) {
		}
		cancel()
	}()
	fw := api.NewFrameWriter(conn)
	if writeFileFrame(fw, info) != nil {
		return
	}
	buf := make([]byte, fileChunk)
	for {
		n, err := rc.Read(buf)
		if n > 0 && fw.Write(api.FrameStdout, buf[:n]) != nil {
			return // the client is gone
		}
		if err != nil {
			endFileStream(fw, err)
			return
		}
	}
}

// postFileWrite writes the client's input frames to a guest file.
func (g *guestAPI) postFileWrite(w http.ResponseWriter, r *http.Request) {
	var req api.WriteFileRequest
	m, ok := g.streamRequest(w, r, &req)
	if !ok {
		return
	}
	if err := checkGuestPath(req.Path); err != nil {
		writeError(w, err)
		return
	}
	withAttrs := req.Mode != nil || req.Modified != nil
	if withAttrs && !m.Has(agentproto.FeatureWriteAttrs) {
		writeError(w, errdefs.Wrap(errdefs.KindFailedPrecondition, agentclient.ErrNoWriteAttrs))
		return
	}
	conn, brw, err := upgradeConn(w)
	if err != nil {
		g.log.Warn("switching to a stream", "err", err)
		return
	}
	defer conn.Close()
	pr, pw := io.Pipe()
	defer pr.Close()
	go pipeInput(brw.Reader, pw)
	info, err := writeGuestFile(r.Context(), m, req, pr)
	fw := api.NewFrameWriter(conn)
	if err == nil {
		err = writeFileFrame(fw, info)
	}
	endFileStream(fw, err)
}

// errClientLeft ends a file write whose client hung up before the end
// of its input.
var errClientLeft = errors.New("the client hung up before the end of the file")

// pipeInput passes the client's input frames to pw, ending it at the
// end of input, or with errClientLeft.
func pipeInput(r *bufio.Reader, pw *io.PipeWriter) {
	for {
		kind, payload, err := api.ReadFrame(r)
		switch {
		case err != nil:
			pw.CloseWithError(errClientLeft)
			return
		case kind == api.FrameStdinEOF:
			pw.Close()
			return
		case kind == api.FrameStdin:
			if _, err := pw.Write(payload); err != nil {
				return // the write ended early; its error goes to the client
			}
		}
	}
}

// writeGuestFile runs one write, with the request's mode and time if set.
func writeGuestFile(ctx context.Context, m *agentclient.Mux, req api.WriteFileRequest, r io.Reader) (agentproto.FileInfo, error) {
	if req.Mode == nil && req.Modified == nil {
		return m.WriteFile(ctx, req.Path, r)
	}
	var a agentclient.FileAttrs
	if req.Mode != nil {
		a.Mode = fs.FileMode(*req.Mode)
	}
	if req.Modified != nil {
		a.Modified = *req.Modified
	}
	return m.WriteFileAttrs(ctx, req.Path, r, a)
}

func writeFileFrame(fw *api.FrameWriter, fi agentproto.FileInfo) error {
	b, _ := json.Marshal(fileToAPI(fi))
	return fw.Write(api.FrameFile, b)
}

// endFileStream sends a file route's last frame: exit status 0 at the
// end of the file (err nil or io.EOF), else the error.
func endFileStream(fw *api.FrameWriter, err error) {
	if err == nil || errors.Is(err, io.EOF) {
		b, _ := json.Marshal(api.ExitStatus{})
		fw.Write(api.FrameExit, b)
		return
	}
	b, _ := json.Marshal(api.ErrorFrom(err))
	fw.Write(api.FrameError, b)
}

func fileToAPI(fi agentproto.FileInfo) api.GuestFile {
	return api.GuestFile{
		Name: fi.Name, Path: fi.Path, Type: fi.Type, Size: fi.Size, Mode: fi.Mode, Permissions: fi.Permissions,
		Owner: fi.Owner, Group: fi.Group, Modified: fi.Modified, SymlinkTarget: fi.SymlinkTarget,
	}
}
