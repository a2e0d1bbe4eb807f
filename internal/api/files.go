package api

import "time"

// The file routes reach one file in a running VM through its guest agent,
// with the same agent operations as the E2B sandbox API's /files (see
// agentproto's fs-stat, fs-list, fs-read and fs-write). Guest paths are
// absolute.
//
//   - GET /v1/vms/{name}/files/stat?path=P answers the GuestFile of P,
//     not following a final symbolic link.
//   - GET /v1/vms/{name}/files/list?path=P&depth=D&limit=N answers the
//     FileList of the directory P (a link to one too): its entries and
//     those of its subdirectories down to D levels (default 1, at most
//     MaxListDepth), depth first and sorted by name within each
//     directory, at most N of them (default and limit MaxListFiles).
//   - POST /v1/vms/{name}/files/read, a FileRequest upgraded to a stream
//     (see UpgradeProtocol): a FrameFile of the regular file P (a link to
//     one too), its bytes as output frames, then exit status 0, or
//     FrameError when reading failed.
//   - POST /v1/vms/{name}/files/write, a WriteFileRequest upgraded to a
//     stream: the client's input frames are the bytes, the end of input
//     ends the file, which the guest renames into place then; bangerd
//     answers a FrameFile of what was written and exit status 0, or
//     FrameError.

// Bounds of a file listing.
const (
	MaxListDepth = 8
	MaxListFiles = 10000
)

// FileList is a directory listing. Truncated says the directory held
// more entries than were asked for; Files are the first of them.
type FileList struct {
	Files     []GuestFile `json:"files"`
	Truncated bool        `json:"truncated,omitempty"`
}

// FileRequest names one guest file.
type FileRequest struct {
	Path string `json:"path"`
}

// WriteFileRequest writes one guest file. Its missing parents are made.
// Without Mode, a new file gets mode 0644 and a replaced one keeps its
// mode and owner; with it, the file gets Mode's bits (Go's fs.FileMode
// bits: permissions, setuid, setgid, sticky) and belongs to root. Mode
// and Modified need a guest agent whose GuestInfo.Features holds
// FeatureWriteAttrs; an older one answers failed precondition.
type WriteFileRequest struct {
	Path     string     `json:"path"`
	Mode     *uint32    `json:"mode,omitempty"`
	Modified *time.Time `json:"modified,omitempty"`
}

// FeatureWriteAttrs, in GuestInfo.Features: the guest agent writes a
// file with the mode and time a WriteFileRequest gives.
const FeatureWriteAttrs = "fs-write-attrs"

// The types of GuestFile.Type.
const (
	FileRegular = "file"
	FileDir     = "dir"
	FileSymlink = "symlink"
	FileOther   = "other"
)

// GuestFile describes one file in a guest.
type GuestFile struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Type is "file", "dir", "symlink" or "other".
	Type string `json:"type"`
	Size int64  `json:"size"`
	// Mode is Go's fs.FileMode bits; Permissions reads as ls -l's.
	Mode          uint32    `json:"mode"`
	Permissions   string    `json:"permissions"`
	Owner         string    `json:"owner"`
	Group         string    `json:"group"`
	Modified      time.Time `json:"modified"`
	SymlinkTarget string    `json:"symlink_target,omitempty"`
}
