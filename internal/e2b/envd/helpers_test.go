package envd

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"banger/internal/agent"
	"banger/internal/agent/agentclient"
	"banger/internal/e2b/envd/pb/filesystem/filesystemconnect"
	"banger/internal/e2b/envd/pb/process/processconnect"
	"banger/internal/errdefs"
)

// testVM is the sandbox every test request is for.
const testVM = "box"

// rig is a Server behind httptest whose guest is a real agent, serving
// on a pipe and running commands on this machine, with files faked on
// a temp dir.
type rig struct {
	srv   *Server
	url   string
	files *fakeFiles
	agent *agent.Server
	sb    Sandbox
	muxMu sync.Mutex
	mux   *agentclient.Mux
	proc  processconnect.ProcessClient
	fs    filesystemconnect.FilesystemClient
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{files: newFakeFiles(t), sb: Sandbox{VM: testVM, Env: map[string]string{"FROM_SANDBOX": "yes"}}}
	r.srv = New(Options{Keepalive: 30 * time.Second})
	r.agent = agent.NewServer(agent.Options{PollInterval: 5 * time.Millisecond})
	r.mux = agentMux(t, r.agent)
	r.srv.execer = func(context.Context, string) (execer, error) { return r.link(), nil }
	r.srv.files = func(context.Context, string) (Files, error) { return r.files, nil }
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.srv.ServeHTTP(w, req.WithContext(WithSandbox(req.Context(), r.sb)))
	}))
	t.Cleanup(hs.Close)
	r.url = hs.URL
	r.proc = processconnect.NewProcessClient(hs.Client(), hs.URL, connect.WithProtoJSON())
	r.fs = filesystemconnect.NewFilesystemClient(hs.Client(), hs.URL, connect.WithProtoJSON())
	return r
}

// link is the current agent link.
func (r *rig) link() *agentclient.Mux {
	r.muxMu.Lock()
	defer r.muxMu.Unlock()
	return r.mux
}

// dropLink ends the agent link, as a paused sandbox or a restarted guest
// agent does; the guest's processes run on.
func (r *rig) dropLink() { r.link().Close() }

// relink makes a new link to the same agent, as a resumed sandbox has.
func (r *rig) relink(t *testing.T) {
	m := agentMux(t, r.agent)
	r.muxMu.Lock()
	r.mux = m
	r.muxMu.Unlock()
}

// agentMux is a Mux on the real agent srv, served over a pipe.
func agentMux(t *testing.T, srv *agent.Server) *agentclient.Mux {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	host, guest := net.Pipe()
	go srv.ServeConn(ctx, guest)
	m, err := agentclient.Upgrade(testCtx(t), agentclient.NewConn(host))
	if err != nil {
		t.Fatalf("upgrading to a mux: %v", err)
	}
	t.Cleanup(func() { cancel(); m.Close(); guest.Close() })
	return m
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fakeFiles is Files over a temp dir standing for the guest's root.
type fakeFiles struct {
	root string

	mu      sync.Mutex
	watches []*fakeWatch
}

func newFakeFiles(t *testing.T) *fakeFiles {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &fakeFiles{root: root}
}

func (f *fakeFiles) host(p string) string { return filepath.Join(f.root, p) }

func (f *fakeFiles) info(p string) (FileInfo, error) {
	st, err := os.Lstat(f.host(p))
	if os.IsNotExist(err) {
		return FileInfo{}, errdefs.NotFound("%s: no such file or directory", p)
	}
	if err != nil {
		return FileInfo{}, err
	}
	fi := FileInfo{Name: filepath.Base(p), Path: p, Size: st.Size(), Mode: uint32(st.Mode()), Permissions: st.Mode().String(), Owner: "root", Group: "root", Modified: st.ModTime(), Type: "file"}
	switch {
	case st.IsDir():
		fi.Type = "dir"
	case st.Mode()&os.ModeSymlink != 0:
		fi.Type = "symlink"
		fi.SymlinkTarget, _ = os.Readlink(f.host(p))
	}
	return fi, nil
}

func (f *fakeFiles) Stat(_ context.Context, p string) (FileInfo, error) { return f.info(p) }

func (f *fakeFiles) ListDir(_ context.Context, p string, depth int) ([]FileInfo, error) {
	fi, err := f.info(p)
	if err != nil {
		return nil, err
	}
	if fi.Type != "dir" {
		return nil, errdefs.InvalidArgument("%s is not a directory", p)
	}
	var out []FileInfo
	err = filepath.WalkDir(f.host(p), func(hp string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(f.host(p), hp)
		if err != nil || rel == "." {
			return err
		}
		gi, err := f.info(filepath.Join(p, rel))
		out = append(out, gi)
		if d.IsDir() && strings.Count(rel, "/")+1 >= depth {
			return filepath.SkipDir
		}
		return err
	})
	return out, err
}

func (f *fakeFiles) MakeDir(_ context.Context, p string) (bool, error) {
	if fi, err := f.info(p); err == nil {
		if fi.Type != "dir" {
			return false, errdefs.InvalidArgument("%s exists and is not a directory", p)
		}
		return false, nil
	}
	return true, os.MkdirAll(f.host(p), 0o755)
}

func (f *fakeFiles) Move(_ context.Context, from, to string) (FileInfo, error) {
	if _, err := f.info(from); err != nil {
		return FileInfo{}, err
	}
	if err := os.Rename(f.host(from), f.host(to)); err != nil {
		return FileInfo{}, err
	}
	return f.info(to)
}

func (f *fakeFiles) Remove(_ context.Context, p string) error { return os.RemoveAll(f.host(p)) }

func (f *fakeFiles) ReadFile(_ context.Context, p string) (io.ReadCloser, FileInfo, error) {
	fi, err := f.info(p)
	if err != nil {
		return nil, fi, err
	}
	rc, err := os.Open(f.host(p))
	return rc, fi, err
}

func (f *fakeFiles) WriteFile(_ context.Context, p string, r io.Reader) (FileInfo, error) {
	if err := os.MkdirAll(filepath.Dir(f.host(p)), 0o755); err != nil {
		return FileInfo{}, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return FileInfo{}, err
	}
	if err := os.WriteFile(f.host(p), b, 0o644); err != nil {
		return FileInfo{}, errdefs.InvalidArgument("%s: %v", p, err)
	}
	f.notify(p, "create")
	return f.info(p)
}

// notify tells the open watches of p's directory that p changed.
func (f *fakeFiles) notify(p, op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.watches {
		select {
		case <-w.closed:
		default:
			if filepath.Dir(p) == w.dir {
				select {
				case w.events <- FSEvent{Name: filepath.Base(p), Op: op}:
				default:
				}
			}
		}
	}
}

func (f *fakeFiles) WatchDir(_ context.Context, p string, recursive bool) (Watch, error) {
	if fi, err := f.info(p); err != nil || fi.Type != "dir" {
		return nil, errdefs.NotFound("%s: no such directory", p)
	}
	w := &fakeWatch{dir: p, events: make(chan FSEvent, 16), closed: make(chan struct{})}
	f.mu.Lock()
	f.watches = append(f.watches, w)
	f.mu.Unlock()
	return w, nil
}

// lastWatch is the latest watch made, once there is one.
func (f *fakeFiles) lastWatch() *fakeWatch {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.watches) == 0 {
		return nil
	}
	return f.watches[len(f.watches)-1]
}

// fakeWatch is a watch whose events the test sends.
type fakeWatch struct {
	dir    string
	events chan FSEvent
	once   sync.Once
	closed chan struct{}
	err    error
}

func (w *fakeWatch) Events() <-chan FSEvent { return w.events }
func (w *fakeWatch) Err() error             { return w.err }
func (w *fakeWatch) Close() error {
	w.once.Do(func() { close(w.closed) })
	return nil
}

// end ends the watch with err, as a guest whose directory went does.
func (w *fakeWatch) end(err error) {
	w.err = err
	close(w.events)
}

// downGuests is a VM manager whose agents cannot be reached.
type downGuests struct{}

func (downGuests) Agent(context.Context, string) (*agentclient.Mux, error) {
	return nil, errors.New("dial agent: connection refused")
}

// setRejoinWait shortens how long streams wait for a lost link; the func
// it returns puts it back.
func setRejoinWait(d time.Duration) func() {
	old := rejoinWait
	rejoinWait = d
	return func() { rejoinWait = old }
}
