package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
)

// guestPath turns a file op's path into an absolute, clean one: relative
// paths and "~" lead to root's home.
func (s *Server) guestPath(p string) (string, error) {
	if err := agentproto.ValidatePath(p); err != nil {
		return "", err
	}
	if p == "~" {
		return s.opts.Home, nil
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return filepath.Join(s.opts.Home, rest), nil
	}
	if !filepath.IsAbs(p) {
		return filepath.Join(s.opts.Home, p), nil
	}
	return filepath.Clean(p), nil
}

// fsCode is the protocol code of a file op's failure.
func fsCode(err error) string {
	if pe, ok := errors.AsType[*agentproto.Error](err); ok {
		return pe.Code
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return agentproto.CodeNotFound
	case errors.Is(err, fs.ErrExist):
		return agentproto.CodeExists
	case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL), errors.Is(err, unix.ELOOP):
		return agentproto.CodeBadRequest
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT), errors.Is(err, fs.ErrPermission),
		errors.Is(err, unix.ENOTEMPTY), errors.Is(err, unix.EROFS), errors.Is(err, unix.EBUSY):
		return agentproto.CodePrecondition
	}
	return agentproto.CodeFailed
}

// fsFailure answers req with err.
func fsFailure(req agentproto.Request, err error) agentproto.Response {
	return failure(req, fsCode(err), err.Error())
}

// fsExit is the exit status that ends a file op's channel after err.
func fsExit(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT):
		return agentproto.CopyNoSpace
	}
	switch fsCode(err) {
	case agentproto.CodeNotFound:
		return agentproto.CopyNotFound
	case agentproto.CodeBadRequest:
		return agentproto.CopyInvalid
	}
	return agentproto.CopyFailed
}

// badRequest is a file op's failure with the bad-request code.
func badRequest(format string, args ...any) error {
	return &agentproto.Error{Code: agentproto.CodeBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// owners names uids and gids, once each.
type owners struct {
	users, groups map[uint32]string
}

func newOwners() *owners {
	return &owners{users: map[uint32]string{}, groups: map[uint32]string{}}
}

func (o *owners) user(uid uint32) string {
	if name, ok := o.users[uid]; ok {
		return name
	}
	name := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	o.users[uid] = name
	return name
}

func (o *owners) group(gid uint32) string {
	if name, ok := o.groups[gid]; ok {
		return name
	}
	name := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(name); err == nil {
		name = g.Name
	}
	o.groups[gid] = name
	return name
}

// fileInfo describes the file at path, which fi (from lstat) is about.
func (o *owners) fileInfo(path string, fi fs.FileInfo) agentproto.FileInfo {
	m := fi.Mode()
	info := agentproto.FileInfo{
		Name: filepath.Base(path), Path: path, Type: fileType(m), Size: fi.Size(),
		Mode: uint32(m), Permissions: permissions(m), Modified: fi.ModTime(),
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.Owner, info.Group = o.user(st.Uid), o.group(st.Gid)
	}
	if m&fs.ModeSymlink != 0 {
		info.SymlinkTarget, _ = os.Readlink(path)
	}
	return info
}

// statInfo describes path, not following a final link.
func statInfo(path string) (agentproto.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return agentproto.FileInfo{}, err
	}
	return newOwners().fileInfo(path, fi), nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return agentproto.TypeFile
	case m.IsDir():
		return agentproto.TypeDir
	case m&fs.ModeSymlink != 0:
		return agentproto.TypeSymlink
	}
	return agentproto.TypeOther
}

// permissions writes m as ls -l does: "drwxr-xr-x", "-rwsr-x---".
func permissions(m fs.FileMode) string {
	b := []byte("?rwxrwxrwx")
	switch {
	case m.IsRegular():
		b[0] = '-'
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	}
	for i := range 9 {
		if m&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special(b, 3, m&fs.ModeSetuid != 0, 's')
	special(b, 6, m&fs.ModeSetgid != 0, 's')
	special(b, 9, m&fs.ModeSticky != 0, 't')
	return string(b)
}

// special marks a set setuid, setgid or sticky bit at b[i]: c over an x,
// its upper case over a '-'.
func special(b []byte, i int, set bool, c byte) {
	if !set {
		return
	}
	if b[i] == 'x' {
		b[i] = c
	} else {
		b[i] = c - 'a' + 'A'
	}
}
