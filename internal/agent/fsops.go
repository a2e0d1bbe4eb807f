package agent

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
)

// fsOp answers the file ops that open no channel: fs-stat, fs-mkdir,
// fs-move and fs-remove.
func (s *Server) fsOp(req agentproto.Request) agentproto.Response {
	path, err := s.guestPath(req.Path)
	if err != nil {
		return fsFailure(req, err)
	}
	var resp agentproto.Response
	switch req.Op {
	case agentproto.OpFSStat:
		var info agentproto.FileInfo
		info, err = statInfo(path)
		resp.File = &info
	case agentproto.OpFSMkdir:
		resp.Created, err = makeDir(path)
	case agentproto.OpFSMove:
		resp.File, err = s.move(path, req.To)
	case agentproto.OpFSRemove:
		err = removeAll(path)
	}
	if err != nil {
		s.log.Debug("file op failed", "op", req.Op, "err", err)
		return fsFailure(req, err)
	}
	return success(req, resp)
}

// makeDir makes path and its missing parents, reporting whether path was
// new. A link to a directory counts as one.
func makeDir(path string) (bool, error) {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return false, nil
		}
		return false, &agentproto.Error{Code: agentproto.CodeExists, Msg: fmt.Sprintf("cannot make the directory %s: a file of that name exists", path)}
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return false, err
	}
	return true, nil
}

// rename is os.Rename; tests replace it to act as across file systems.
var rename = os.Rename

// move renames from to the op's destination, as rename(2) does; across
// file systems it copies, then removes from.
func (s *Server) move(from, dest string) (*agentproto.FileInfo, error) {
	if dest == "" {
		return nil, badRequest("fs-move needs a destination (to)")
	}
	to, err := s.guestPath(dest)
	if err != nil {
		return nil, err
	}
	if from == "/" || to == "/" {
		return nil, badRequest("cannot move the guest's root directory")
	}
	err = rename(from, to)
	if errors.Is(err, unix.EXDEV) {
		err = moveAcross(from, to)
	}
	if err != nil {
		return nil, err
	}
	info, err := statInfo(to)
	return &info, err
}

// removeAll removes path and everything below it, as rm -rf does.
func removeAll(path string) error {
	if path == "/" {
		return badRequest("refusing to remove the guest's root directory")
	}
	return os.RemoveAll(path)
}
