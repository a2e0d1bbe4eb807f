package agentproto

import (
	"strings"
	"time"
)

// The file operations, which need FeatureStreams. Agents from before them
// answer CodeUnknownOp. Request.Path names the file or directory each
// works on; see the package documentation for how guest paths read.
const (
	// fs-stat answers Response.File: what Request.Path is, not following
	// a final symbolic link.
	OpFSStat = "fs-stat"
	// fs-list opens a channel whose output is Request.Path's entries,
	// down Request.Depth levels (0 means 1), as JSON lines of FileInfo.
	OpFSList = "fs-list"
	// fs-mkdir makes Request.Path and its missing parents (mode 0755);
	// Response.Created says whether the directory was new.
	OpFSMkdir = "fs-mkdir"
	// fs-move renames Request.Path to Request.To as rename(2) does,
	// copying and then removing across file systems. Response.File is
	// the result.
	OpFSMove = "fs-move"
	// fs-remove removes Request.Path and everything below it; a missing
	// path is not an error.
	OpFSRemove = "fs-remove"
	// fs-read answers Response.File and opens a channel whose output is
	// the regular file's bytes.
	OpFSRead = "fs-read"
	// fs-write opens a channel whose input becomes Request.Path. The
	// bytes go to a temporary file beside it, renamed into place at the
	// end of the input; missing parents are made. A new file gets mode
	// 0644, a replaced one keeps its mode and owner. The output is one
	// JSON line, the FileInfo of the file written. With
	// FeatureWriteAttrs, Request.Mode and Request.Modified set the
	// file's permission bits and modification time instead.
	OpFSWrite = "fs-write"
	// fs-watch opens a channel whose output is what happens in the
	// directory Request.Path (below it too, with Request.Recursive), as
	// JSON lines of FSEvent, until the host ends the channel.
	OpFSWatch = "fs-watch"
)

// FeatureWriteAttrs, asked for in a version 2 hello beside
// FeatureStreams, lets fs-write take Request.Mode and Request.Modified. A
// guest that grants it (it lists it in Hello.Features) gives the file it
// writes, new or replaced, exactly Mode's bits (Go's fs.FileMode bits, of
// which the permissions, setuid, setgid and sticky count; a replaced
// file's owner is not kept then: it belongs to the agent's user, as a
// copied file does) and the modification time Modified. Either may be
// left out. An agent from before the feature does not grant it and would
// ignore both fields; a host must not send them to it.
const FeatureWriteAttrs = "fs-write-attrs"

// CodePrecondition: the op cannot be carried out in the guest's present
// state (its disk is full, permission is denied, a directory is not
// empty); retrying as is will fail again.
const CodePrecondition = "precondition"

// A file operation's channel ends like a copy's: exit status 0, or a Copy
// code after a message on Err (CopyNotFound for a watched directory that
// went away, CopyFailed for a watch that lost events).

// MaxListEntries bounds the entries of one fs-list; a listing with more
// fails, and should ask for less depth.
const MaxListEntries = 1 << 16

// The types of FileInfo.Type.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
	TypeOther   = "other"
)

// FileInfo describes one file in the guest.
type FileInfo struct {
	// Name is the base name, Path the absolute guest path.
	Name string `json:"name"`
	Path string `json:"path"`
	// Type is "file", "dir", "symlink" or "other".
	Type string `json:"type"`
	Size int64  `json:"size"`
	// Mode is Go's fs.FileMode bits; Permissions says the same as ls -l
	// does ("-rw-r--r--").
	Mode        uint32 `json:"mode"`
	Permissions string `json:"permissions"`
	// Owner and Group are names, or numbers when the guest has none.
	Owner    string    `json:"owner"`
	Group    string    `json:"group"`
	Modified time.Time `json:"modified"`
	// SymlinkTarget is where a symbolic link points, as written.
	SymlinkTarget string `json:"symlink_target,omitempty"`
}

// The ops of FSEvent.Op.
const (
	FSCreate = "create"
	FSWrite  = "write"
	FSRemove = "remove"
	FSRename = "rename"
	FSChmod  = "chmod"
)

// FSEvent is one change in a watched directory.
type FSEvent struct {
	// Name is the changed path, relative to the watched directory.
	Name string `json:"name"`
	// Op is "create" (made, or moved in), "write", "remove", "rename"
	// (moved away) or "chmod" (its mode, owner or times changed).
	Op string `json:"op"`
}

// ValidatePath checks a guest path as the file operations take it: not
// empty, without NUL bytes.
func ValidatePath(p string) error {
	if p == "" {
		return &Error{Code: CodeBadRequest, Msg: "the guest path is empty"}
	}
	if strings.IndexByte(p, 0) >= 0 {
		return &Error{Code: CodeBadRequest, Msg: "the guest path has a NUL byte"}
	}
	return nil
}
