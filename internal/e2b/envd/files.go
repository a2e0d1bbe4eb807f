package envd

import (
	"context"
	"io"
	"time"

	"banger/internal/errdefs"
)

// Files is what the Server needs of a guest's file operations: the
// method set of the agent's file ops (fs-stat, fs-list, ...) on
// *agentclient.Mux. Errors carry errdefs kinds: NotFound,
// AlreadyExists, InvalidArgument (not a directory, say).
type Files interface {
	Stat(ctx context.Context, path string) (FileInfo, error)
	ListDir(ctx context.Context, path string, depth int) ([]FileInfo, error)
	MakeDir(ctx context.Context, path string) (created bool, err error)
	Move(ctx context.Context, from, to string) (FileInfo, error)
	Remove(ctx context.Context, path string) error
	ReadFile(ctx context.Context, path string) (io.ReadCloser, FileInfo, error)
	WriteFile(ctx context.Context, path string, r io.Reader) (FileInfo, error)
	WatchDir(ctx context.Context, path string, recursive bool) (Watch, error)
}

// FileInfo describes one file in the guest, as the agent reports it.
type FileInfo struct {
	Name string
	Path string
	// Type is "file", "dir", "symlink" or "other".
	Type          string
	Size          int64
	Mode          uint32 // os.FileMode bits
	Permissions   string // "-rw-r--r--"
	Owner, Group  string
	Modified      time.Time
	SymlinkTarget string
}

// FSEvent is one change under a watched directory.
type FSEvent struct {
	Name string // relative to the watched directory
	Op   string // "create", "write", "remove", "rename" or "chmod"
}

// Watch is a running watch of a guest directory.
type Watch interface {
	Events() <-chan FSEvent
	Err() error
	Close() error
}

// filesOf is m's file operations, once the agent has them.
// TODO(fsops): once *agentclient.Mux has the file ops, make FileInfo
// and FSEvent aliases of agentproto's and adapt Mux.WatchDir's
// *agentclient.Watch to Watch here.
func filesOf(m any) (Files, error) {
	if f, ok := m.(Files); ok {
		return f, nil
	}
	return nil, errdefs.FailedPrecondition("this banger's guest agent client has no file operations; update banger")
}
