package envd

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"connectrpc.com/connect"

	pb "banger/internal/e2b/envd/pb/filesystem"
	"banger/internal/errdefs"
	"banger/internal/eventually"
)

func (r *rig) write(t *testing.T, guestPath, content string) {
	t.Helper()
	p := r.files.host(guestPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestStatDescribesAnEntry(t *testing.T) {
	r := newRig(t)
	r.write(t, "/root/notes.txt", "hello")
	if err := os.Symlink("notes.txt", r.files.host("/root/link")); err != nil {
		t.Fatal(err)
	}
	st, err := r.fs.Stat(testCtx(t), connect.NewRequest(&pb.StatRequest{Path: "notes.txt"}))
	if err != nil {
		t.Fatalf("Stat of a path relative to /root: %v", err)
	}
	e := st.Msg.Entry
	if e.Name != "notes.txt" || e.Path != "/root/notes.txt" || e.Type != pb.FileType_FILE_TYPE_FILE || e.Size != 5 || e.Mode != 0o640 || e.Permissions != "-rw-r-----" || e.Owner != "root" || e.ModifiedTime == nil || e.SymlinkTarget != nil {
		t.Errorf("Stat = %v", e)
	}
	st, err = r.fs.Stat(testCtx(t), connect.NewRequest(&pb.StatRequest{Path: "/root/link"}))
	if err != nil || st.Msg.Entry.Type != pb.FileType_FILE_TYPE_SYMLINK || st.Msg.Entry.GetSymlinkTarget() != "notes.txt" {
		t.Errorf("Stat of a link = %v, %v; want a symlink to notes.txt", st, err)
	}
	_, err = r.fs.Stat(testCtx(t), connect.NewRequest(&pb.StatRequest{Path: "/nothing"}))
	checkCode(t, "Stat of nothing", err, connect.CodeNotFound)
}

func TestMakeDirThenAgainIsAlreadyExists(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	md, err := r.fs.MakeDir(ctx, connect.NewRequest(&pb.MakeDirRequest{Path: "/srv/a/b"}))
	if err != nil || md.Msg.Entry.Type != pb.FileType_FILE_TYPE_DIRECTORY || md.Msg.Entry.Path != "/srv/a/b" {
		t.Fatalf("MakeDir = %v, %v; want the new directory", md, err)
	}
	_, err = r.fs.MakeDir(ctx, connect.NewRequest(&pb.MakeDirRequest{Path: "/srv/a/b"}))
	checkCode(t, "MakeDir again", err, connect.CodeAlreadyExists)
}

func TestListDirMoveRemove(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	r.write(t, "/work/a.txt", "a")
	r.write(t, "/work/sub/deep.txt", "d")
	ls, err := r.fs.ListDir(ctx, connect.NewRequest(&pb.ListDirRequest{Path: "/work"}))
	if err != nil {
		t.Fatalf("ListDir: %v", err)
	}
	if got := names(ls.Msg.Entries); !slices.Equal(got, []string{"/work/a.txt", "/work/sub"}) {
		t.Errorf("ListDir depth 1 = %v", got)
	}
	ls, err = r.fs.ListDir(ctx, connect.NewRequest(&pb.ListDirRequest{Path: "/work", Depth: 2}))
	if got := names(ls.Msg.Entries); err != nil || !slices.Equal(got, []string{"/work/a.txt", "/work/sub", "/work/sub/deep.txt"}) {
		t.Errorf("ListDir depth 2 = %v, %v", got, err)
	}
	_, err = r.fs.ListDir(ctx, connect.NewRequest(&pb.ListDirRequest{Path: "/work/a.txt"}))
	checkCode(t, "ListDir of a file", err, connect.CodeInvalidArgument)

	mv, err := r.fs.Move(ctx, connect.NewRequest(&pb.MoveRequest{Source: "/work/a.txt", Destination: "/work/b.txt"}))
	if err != nil || mv.Msg.Entry.Path != "/work/b.txt" {
		t.Errorf("Move = %v, %v; want the entry at its new path", mv, err)
	}
	_, err = r.fs.Move(ctx, connect.NewRequest(&pb.MoveRequest{Source: "/work/a.txt", Destination: "/work/c.txt"}))
	checkCode(t, "Move of what is gone", err, connect.CodeNotFound)
	if _, err := r.fs.Remove(ctx, connect.NewRequest(&pb.RemoveRequest{Path: "/work"})); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(r.files.host("/work")); !os.IsNotExist(err) {
		t.Errorf("after Remove, /work: %v; want it gone", err)
	}
}

func names(es []*pb.EntryInfo) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Path)
	}
	slices.Sort(out)
	return out
}

func TestWatchDirStreamsEvents(t *testing.T) {
	r := newRig(t)
	r.write(t, "/root/w/new.txt", "x")
	req := connect.NewRequest(&pb.WatchDirRequest{Path: "/root/w", IncludeEntry: true})
	req.Header().Set(keepaliveHeader, "0.02")
	s, err := r.fs.WatchDir(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Receive() || s.Msg().GetStart() == nil {
		t.Fatalf("first WatchDir message = %v, %v; want a start event", s.Msg(), s.Err())
	}
	w := r.files.lastWatch()
	w.events <- FSEvent{Name: "new.txt", Op: "create"}
	var got *pb.FilesystemEvent
	for got == nil && s.Receive() {
		got = s.Msg().GetFilesystem() // skipping keepalives
	}
	if got.GetName() != "new.txt" || got.GetType() != pb.EventType_EVENT_TYPE_CREATE || got.GetEntry().GetPath() != "/root/w/new.txt" {
		t.Errorf("event = %v; want create of new.txt with its entry", got)
	}
	w.end(errdefs.NotFound("/root/w was removed"))
	for s.Receive() {
	}
	checkCode(t, "a watch whose directory went", s.Err(), connect.CodeNotFound)
}

func TestPollingWatcher(t *testing.T) {
	r := newRig(t)
	ctx := testCtx(t)
	r.write(t, "/root/w/f", "")
	cw, err := r.fs.CreateWatcher(ctx, connect.NewRequest(&pb.CreateWatcherRequest{Path: "/root/w"}))
	if err != nil || cw.Msg.WatcherId == "" {
		t.Fatalf("CreateWatcher = %v, %v", cw, err)
	}
	id := cw.Msg.WatcherId
	r.files.lastWatch().events <- FSEvent{Name: "f", Op: "write"}
	var evs []*pb.FilesystemEvent
	eventually.True(t, func() bool {
		got, err := r.fs.GetWatcherEvents(ctx, connect.NewRequest(&pb.GetWatcherEventsRequest{WatcherId: id}))
		if err != nil {
			t.Fatalf("GetWatcherEvents: %v", err)
		}
		evs = append(evs, got.Msg.Events...)
		return len(evs) > 0
	})
	if len(evs) != 1 || evs[0].Name != "f" || evs[0].Type != pb.EventType_EVENT_TYPE_WRITE {
		t.Errorf("events = %v; want one write of f", evs)
	}
	if _, err := r.fs.RemoveWatcher(ctx, connect.NewRequest(&pb.RemoveWatcherRequest{WatcherId: id})); err != nil {
		t.Fatalf("RemoveWatcher: %v", err)
	}
	select {
	case <-r.files.lastWatch().closed:
	default:
		t.Error("RemoveWatcher left the guest's watch open")
	}
	_, err = r.fs.GetWatcherEvents(ctx, connect.NewRequest(&pb.GetWatcherEventsRequest{WatcherId: id}))
	checkCode(t, "GetWatcherEvents of a removed watcher", err, connect.CodeNotFound)
}

func TestFilesWithoutAgentSupportIsFailedPrecondition(t *testing.T) {
	if _, err := filesOf(struct{}{}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("filesOf an agent without file ops = %v; want failed precondition", err)
	}
}
