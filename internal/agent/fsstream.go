package agent

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"

	"banger/internal/agent/agentproto"
)

// fsList sends the entries of a directory, down req.Depth levels, as JSON
// lines of FileInfo.
func (sc *streamConn) fsList(req agentproto.Request) {
	path, err := sc.s.guestPath(req.Path)
	if err == nil && req.Depth < 0 {
		err = badRequest("fs-list depth %d is negative: ask for 1 or more levels", req.Depth)
	}
	if err == nil {
		err = checkDir(path)
	}
	if err != nil {
		sc.send(fsFailure(req, err))
		return
	}
	ch := sc.open(req.ID)
	if sc.send(success(req, agentproto.Response{})) != nil {
		ch.finish(agentproto.Frame{})
		return
	}
	out := bufio.NewWriterSize(channelWriter{ch}, agentproto.MaxChunk)
	l := &lister{root: path, depth: max(req.Depth, 1), owners: newOwners(), enc: json.NewEncoder(out)}
	err = l.list(path, 1)
	if err == nil {
		err = out.Flush()
	}
	endFS(ch, err)
}

// checkDir fails unless path is a directory, or a link to one.
func checkDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return badRequest("%s is not a directory", path)
	}
	return nil
}

// lister writes a directory's entries, depth first, sorted by name.
type lister struct {
	root   string
	depth  int
	owners *owners
	enc    *json.Encoder
	n      int
}

func (l *lister) list(dir string, level int) error {
	entries, err := os.ReadDir(dir)
	if err != nil && dir == l.root {
		return err // below the root, what cannot be read is left out
	}
	for _, e := range entries {
		if l.n++; l.n > agentproto.MaxListEntries {
			return badRequest("%s has more than %d entries down to depth %d: list fewer levels", l.root, agentproto.MaxListEntries, l.depth)
		}
		p := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if err != nil {
			continue // gone since ReadDir
		}
		if err := l.enc.Encode(l.owners.fileInfo(p, fi)); err != nil {
			return err
		}
		if fi.IsDir() && level < l.depth {
			if err := l.list(p, level+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// fsRead sends a regular file's bytes.
func (sc *streamConn) fsRead(req agentproto.Request) {
	f, info, err := sc.s.openRead(req.Path)
	if err != nil {
		sc.send(fsFailure(req, err))
		return
	}
	defer f.Close()
	ch := sc.open(req.ID)
	if sc.send(success(req, agentproto.Response{File: &info})) != nil {
		ch.finish(agentproto.Frame{})
		return
	}
	_, err = io.Copy(channelWriter{ch}, f)
	endFS(ch, err)
}

// openRead opens the regular file at p, a link to one too.
func (s *Server) openRead(p string) (*os.File, agentproto.FileInfo, error) {
	path, err := s.guestPath(p)
	if err != nil {
		return nil, agentproto.FileInfo{}, err
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, agentproto.FileInfo{}, err
	case fi.IsDir():
		return nil, agentproto.FileInfo{}, badRequest("%s is a directory: list it rather than read it", path)
	case !fi.Mode().IsRegular():
		return nil, agentproto.FileInfo{}, badRequest("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, agentproto.FileInfo{}, err
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, agentproto.FileInfo{}, err
	}
	return f, newOwners().fileInfo(path, fi), nil
}

// endFS ends a file op's channel with its status, after the error's
// message when it failed.
func endFS(ch *channel, err error) {
	if err != nil {
		ch.sc.s.log.Info("file op failed", "err", err)
		ch.write([]byte(err.Error()), true)
	}
	ch.finish(agentproto.Frame{Exit: &agentproto.ExitStatus{Code: fsExit(err)}})
}

// writeLine sends v as one JSON line of output.
func (ch *channel) writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return ch.write(append(b, '\n'), false)
}
