package envd

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "banger/internal/e2b/envd/pb/filesystem"
	"banger/internal/e2b/envd/pb/filesystem/filesystemconnect"
	"banger/internal/errdefs"
)

// fsService serves filesystem.Filesystem.
type fsService struct {
	filesystemconnect.UnimplementedFilesystemHandler
	s *Server
}

var _ filesystemconnect.FilesystemHandler = (*fsService)(nil)

// guest is the file operations of the sandbox of a call, checking the
// user it names.
func (fs *fsService) guest(ctx context.Context, user string) (Files, Sandbox, error) {
	sb, err := sandboxOf(ctx)
	if err != nil {
		return nil, Sandbox{}, err
	}
	if err := checkUser(user); err != nil {
		return nil, sb, rpcError(err)
	}
	f, err := fs.s.files(ctx, sb.VM)
	return f, sb, rpcError(err)
}

func (fs *fsService) Stat(ctx context.Context, req *connect.Request[pb.StatRequest]) (*connect.Response[pb.StatResponse], error) {
	f, _, err := fs.guest(ctx, userOf(req.Header()))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat(ctx, resolve(req.Msg.Path))
	if err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&pb.StatResponse{Entry: entryInfo(fi)}), nil
}

func (fs *fsService) MakeDir(ctx context.Context, req *connect.Request[pb.MakeDirRequest]) (*connect.Response[pb.MakeDirResponse], error) {
	f, _, err := fs.guest(ctx, userOf(req.Header()))
	if err != nil {
		return nil, err
	}
	p := resolve(req.Msg.Path)
	created, err := f.MakeDir(ctx, p)
	if err != nil {
		return nil, rpcError(err)
	}
	if !created {
		return nil, rpcError(errdefs.AlreadyExists("directory %s already exists", p))
	}
	fi, err := f.Stat(ctx, p)
	if err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&pb.MakeDirResponse{Entry: entryInfo(fi)}), nil
}

func (fs *fsService) Move(ctx context.Context, req *connect.Request[pb.MoveRequest]) (*connect.Response[pb.MoveResponse], error) {
	f, _, err := fs.guest(ctx, userOf(req.Header()))
	if err != nil {
		return nil, err
	}
	fi, err := f.Move(ctx, resolve(req.Msg.Source), resolve(req.Msg.Destination))
	if err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&pb.MoveResponse{Entry: entryInfo(fi)}), nil
}

func (fs *fsService) ListDir(ctx context.Context, req *connect.Request[pb.ListDirRequest]) (*connect.Response[pb.ListDirResponse], error) {
	f, _, err := fs.guest(ctx, userOf(req.Header()))
	if err != nil {
		return nil, err
	}
	depth := max(int(req.Msg.Depth), 1)
	list, err := f.ListDir(ctx, resolve(req.Msg.Path), depth)
	if err != nil {
		return nil, rpcError(err)
	}
	out := &pb.ListDirResponse{Entries: make([]*pb.EntryInfo, 0, len(list))}
	for _, fi := range list {
		out.Entries = append(out.Entries, entryInfo(fi))
	}
	return connect.NewResponse(out), nil
}

func (fs *fsService) Remove(ctx context.Context, req *connect.Request[pb.RemoveRequest]) (*connect.Response[pb.RemoveResponse], error) {
	f, _, err := fs.guest(ctx, userOf(req.Header()))
	if err != nil {
		return nil, err
	}
	if err := f.Remove(ctx, resolve(req.Msg.Path)); err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&pb.RemoveResponse{}), nil
}

// fileTypes maps the agent's file types to the API's.
var fileTypes = map[string]pb.FileType{
	"file":    pb.FileType_FILE_TYPE_FILE,
	"dir":     pb.FileType_FILE_TYPE_DIRECTORY,
	"symlink": pb.FileType_FILE_TYPE_SYMLINK,
}

// entryInfo is fi as the API describes an entry; mode is the
// permission bits.
func entryInfo(fi FileInfo) *pb.EntryInfo {
	e := &pb.EntryInfo{
		Name: fi.Name, Type: fileTypes[fi.Type], Path: fi.Path, Size: fi.Size,
		Mode: fi.Mode & 0o777, Permissions: fi.Permissions, Owner: fi.Owner, Group: fi.Group,
	}
	if !fi.Modified.IsZero() {
		e.ModifiedTime = timestamppb.New(fi.Modified)
	}
	if fi.Type == "symlink" {
		target := fi.SymlinkTarget
		e.SymlinkTarget = &target
	}
	return e
}
