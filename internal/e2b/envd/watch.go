package envd

import (
	"context"
	"crypto/rand"
	"path"
	"sync"
	"time"

	"connectrpc.com/connect"

	pb "banger/internal/e2b/envd/pb/filesystem"
	"banger/internal/errdefs"
)

// maxWatcherEvents bounds the events a polling watcher keeps between
// polls; older ones are dropped past it.
const maxWatcherEvents = 10000

// eventTypes maps the agent's event ops to the API's.
var eventTypes = map[string]pb.EventType{
	"create": pb.EventType_EVENT_TYPE_CREATE,
	"write":  pb.EventType_EVENT_TYPE_WRITE,
	"remove": pb.EventType_EVENT_TYPE_REMOVE,
	"rename": pb.EventType_EVENT_TYPE_RENAME,
	"chmod":  pb.EventType_EVENT_TYPE_CHMOD,
}

// fsEvent is ev as the API sends it, with the entry's description when
// asked for and it still exists.
func fsEvent(ctx context.Context, f Files, dir string, ev FSEvent, withEntry bool) *pb.FilesystemEvent {
	out := &pb.FilesystemEvent{Name: ev.Name, Type: eventTypes[ev.Op]}
	if withEntry && ev.Op != "remove" && ev.Op != "rename" {
		if fi, err := f.Stat(ctx, path.Join(dir, ev.Name)); err == nil {
			out.Entry = entryInfo(fi)
		}
	}
	return out
}

func (fs *fsService) WatchDir(ctx context.Context, req *connect.Request[pb.WatchDirRequest], stream *connect.ServerStream[pb.WatchDirResponse]) error {
	f, _, err := fs.guest(ctx, userOf(req.Header()))
	if err != nil {
		return err
	}
	dir := resolve(req.Msg.Path)
	w, err := f.WatchDir(ctx, dir, req.Msg.Recursive)
	if err != nil {
		return rpcError(err)
	}
	defer w.Close()
	if err := stream.Send(&pb.WatchDirResponse{Event: &pb.WatchDirResponse_Start{Start: &pb.WatchDirResponse_StartEvent{}}}); err != nil {
		return err
	}
	interval := keepaliveOf(req.Header(), fs.s.keepalive)
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		var out *pb.WatchDirResponse
		select {
		case <-ctx.Done():
			return rpcError(ctx.Err())
		case ev, ok := <-w.Events():
			if !ok {
				return rpcError(w.Err())
			}
			out = &pb.WatchDirResponse{Event: &pb.WatchDirResponse_Filesystem{Filesystem: fsEvent(ctx, f, dir, ev, req.Msg.IncludeEntry)}}
		case <-timer.C:
			out = &pb.WatchDirResponse{Event: &pb.WatchDirResponse_Keepalive{Keepalive: &pb.WatchDirResponse_KeepAlive{}}}
		}
		if err := stream.Send(out); err != nil {
			return err
		}
		timer.Reset(interval)
	}
}

func (fs *fsService) CreateWatcher(ctx context.Context, req *connect.Request[pb.CreateWatcherRequest]) (*connect.Response[pb.CreateWatcherResponse], error) {
	f, sb, err := fs.guest(ctx, userOf(req.Header()))
	if err != nil {
		return nil, err
	}
	dir := resolve(req.Msg.Path)
	bg := context.WithoutCancel(ctx) // the watch outlives this call
	w, err := f.WatchDir(bg, dir, req.Msg.Recursive)
	if err != nil {
		return nil, rpcError(err)
	}
	pw := &pollWatch{vm: sb.VM, w: w}
	id := fs.s.watches.add(pw)
	go pw.collect(bg, f, dir, req.Msg.IncludeEntry)
	return connect.NewResponse(&pb.CreateWatcherResponse{WatcherId: id}), nil
}

func (fs *fsService) GetWatcherEvents(ctx context.Context, req *connect.Request[pb.GetWatcherEventsRequest]) (*connect.Response[pb.GetWatcherEventsResponse], error) {
	sb, err := sandboxOf(ctx)
	if err != nil {
		return nil, err
	}
	pw, err := fs.s.watches.get(sb.VM, req.Msg.WatcherId)
	if err != nil {
		return nil, rpcError(err)
	}
	evs, err := pw.take()
	if err != nil {
		fs.s.watches.remove(sb.VM, req.Msg.WatcherId)
		return nil, rpcError(err)
	}
	return connect.NewResponse(&pb.GetWatcherEventsResponse{Events: evs}), nil
}

func (fs *fsService) RemoveWatcher(ctx context.Context, req *connect.Request[pb.RemoveWatcherRequest]) (*connect.Response[pb.RemoveWatcherResponse], error) {
	sb, err := sandboxOf(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := fs.s.watches.get(sb.VM, req.Msg.WatcherId); err != nil {
		return nil, rpcError(err)
	}
	fs.s.watches.remove(sb.VM, req.Msg.WatcherId)
	return connect.NewResponse(&pb.RemoveWatcherResponse{}), nil
}

// pollWatch is a watch whose events wait for the client to poll them.
type pollWatch struct {
	vm string
	w  Watch

	mu     sync.Mutex
	events []*pb.FilesystemEvent
	ended  bool
	err    error
}

// collect queues the watch's events until it ends.
func (pw *pollWatch) collect(ctx context.Context, f Files, dir string, withEntry bool) {
	for ev := range pw.w.Events() {
		out := fsEvent(ctx, f, dir, ev, withEntry)
		pw.mu.Lock()
		if len(pw.events) >= maxWatcherEvents {
			pw.events = pw.events[1:]
		}
		pw.events = append(pw.events, out)
		pw.mu.Unlock()
	}
	pw.mu.Lock()
	pw.ended, pw.err = true, pw.w.Err()
	pw.mu.Unlock()
}

// take returns the queued events; once they are all taken, a watch that
// failed returns its error.
func (pw *pollWatch) take() ([]*pb.FilesystemEvent, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	evs := pw.events
	pw.events = nil
	if len(evs) == 0 && pw.ended && pw.err != nil {
		return nil, pw.err
	}
	return evs, nil
}

// watchers holds the polling watchers of every sandbox by id.
type watchers struct {
	mu   sync.Mutex
	byID map[string]*pollWatch
}

func newWatchers() *watchers { return &watchers{byID: map[string]*pollWatch{}} }

func (ws *watchers) add(pw *pollWatch) string {
	id := rand.Text()
	ws.mu.Lock()
	ws.byID[id] = pw
	ws.mu.Unlock()
	return id
}

// get is vm's watcher id; another sandbox's is not found either.
func (ws *watchers) get(vm, id string) (*pollWatch, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if pw := ws.byID[id]; pw != nil && pw.vm == vm {
		return pw, nil
	}
	return nil, errdefs.NotFound("watcher %q not found: it was removed or never made in this sandbox", id)
}

func (ws *watchers) remove(vm, id string) {
	ws.mu.Lock()
	pw := ws.byID[id]
	if pw != nil && pw.vm == vm {
		delete(ws.byID, id)
	}
	ws.mu.Unlock()
	if pw != nil && pw.vm == vm {
		pw.w.Close()
	}
}

// forget closes and drops vm's watchers.
func (ws *watchers) forget(vm string) {
	ws.mu.Lock()
	var gone []*pollWatch
	for id, pw := range ws.byID {
		if pw.vm == vm {
			gone = append(gone, pw)
			delete(ws.byID, id)
		}
	}
	ws.mu.Unlock()
	for _, pw := range gone {
		pw.w.Close()
	}
}
