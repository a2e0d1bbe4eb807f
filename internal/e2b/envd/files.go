package envd

import (
	"context"
	"io"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
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
type FileInfo = agentproto.FileInfo

// FSEvent is one change under a watched directory.
type FSEvent = agentproto.FSEvent

// Watch is a running watch of a guest directory.
type Watch interface {
	Events() <-chan FSEvent
	Err() error
	Close() error
}

// filesOf is m's file operations: an agent link's, or a test's fake.
func filesOf(m any) (Files, error) {
	switch f := m.(type) {
	case *agentclient.Mux:
		return muxFiles{f}, nil
	case Files:
		return f, nil
	}
	return nil, errdefs.FailedPrecondition("this banger's guest agent client has no file operations; update banger")
}

// muxFiles is an agent link's file operations, its watches as Watch.
type muxFiles struct{ *agentclient.Mux }

func (f muxFiles) WatchDir(ctx context.Context, path string, recursive bool) (Watch, error) {
	w, err := f.Mux.WatchDir(ctx, path, recursive)
	if err != nil {
		return nil, err
	}
	return w, nil
}
