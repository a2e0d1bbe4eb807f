package agent

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"banger/internal/agent/agentproto"
)

// fileWrite is one fs-write in progress: the temporary file beside the
// target, renamed over it once all of the host's bytes are in.
type fileWrite struct {
	target string
	old    fs.FileInfo // the file replaced; nil for a new one
	tmp    *os.File
	err    error // the first write that failed
	// mode and mtime are the request's (FeatureWriteAttrs), or nil.
	mode  *uint32
	mtime *time.Time
}

// fsWrite writes the channel's input to a file.
func (sc *streamConn) fsWrite(req agentproto.Request) {
	w, err := sc.s.startWrite(req.Path)
	if err == nil {
		w.mode, w.mtime = req.Mode, req.Modified
	}
	if err != nil {
		sc.send(fsFailure(req, err))
		return
	}
	ch := sc.open(req.ID)
	if sc.send(success(req, agentproto.Response{})) != nil {
		w.abort()
		ch.finish(agentproto.Frame{})
		return
	}
	atEOF := false
	ch.pumpInput(w, func() { atEOF = true })
	switch {
	case w.err != nil:
		w.abort()
		endFS(ch, w.err)
	case !atEOF: // abandoned by the host, or the connection ended
		w.abort()
		ch.finish(agentproto.Frame{})
	default:
		info, err := w.commit()
		if err == nil {
			err = ch.writeLine(info)
		}
		endFS(ch, err)
	}
}

// startWrite checks the target, makes its missing parents and opens the
// temporary file. A symbolic link is written through, as a shell's
// redirection does, unless it leads nowhere: then it is replaced.
func (s *Server) startWrite(p string) (*fileWrite, error) {
	target, err := s.guestPath(p)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(target); err == nil {
		target = real
	}
	w := &fileWrite{target: target}
	fi, err := os.Lstat(target)
	switch {
	case err == nil && fi.IsDir():
		return nil, badRequest("%s is a directory: write to a file path", target)
	case err == nil && fi.Mode().IsRegular():
		w.old = fi
	case err == nil && fi.Mode()&fs.ModeSymlink == 0:
		return nil, badRequest("%s is not a regular file", target)
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if w.tmp, err = os.CreateTemp(dir, "."+filepath.Base(target)+".banger-*"); err != nil {
		return nil, err
	}
	return w, nil
}

// Write takes the host's bytes; after a failure it takes no more.
func (w *fileWrite) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.tmp.Write(p)
	w.err = err
	return n, err
}

// commit gives the temporary file its mode (and owner, replacing a file)
// and time, and renames it into place.
func (w *fileWrite) commit() (agentproto.FileInfo, error) {
	err := w.tmp.Chmod(w.modeAndOwner())
	if err == nil && w.mtime != nil {
		err = os.Chtimes(w.tmp.Name(), time.Time{}, *w.mtime)
	}
	if err == nil {
		err = w.tmp.Sync()
	}
	if cerr := w.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp.Name(), w.target)
	}
	if err != nil {
		os.Remove(w.tmp.Name())
		return agentproto.FileInfo{}, err
	}
	return statInfo(w.target)
}

// modeAndOwner is the mode the file gets: the request's, else a replaced
// file's (whose owner it takes too), else 0644.
func (w *fileWrite) modeAndOwner() fs.FileMode {
	switch {
	case w.mode != nil:
		return fs.FileMode(*w.mode) & permBits
	case w.old != nil:
		if st, ok := w.old.Sys().(*syscall.Stat_t); ok {
			_ = w.tmp.Chown(int(st.Uid), int(st.Gid))
		}
		return w.old.Mode() & permBits
	}
	return 0o644
}

// abort drops the temporary file.
func (w *fileWrite) abort() {
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}
