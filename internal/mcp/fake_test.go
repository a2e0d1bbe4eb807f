package mcp

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/workspace"
)

// fakeDaemon is a stand-in bangerd on a unix socket: VMs in memory,
// whose guests run a few shell commands (see fakeCommand) and keep files
// in a map.
type fakeDaemon struct {
	mu        sync.Mutex
	vms       map[string]*api.VM
	files     map[string][]byte // "vm:path"
	snapshots map[string]string // snapshot -> VM
	execs     []api.ExecRequest
	client    *client.Client
}

func newFakeDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	f := &fakeDaemon{vms: map[string]*api.VM{}, files: map[string][]byte{}, snapshots: map[string]string{}}
	mux := http.NewServeMux()
	p := api.Prefix
	mux.HandleFunc("GET "+p+"/vms", f.listVMs)
	mux.HandleFunc("GET "+p+"/vms/{name}", f.getVM)
	mux.HandleFunc("POST "+p+"/vms", f.createVM)
	mux.HandleFunc("DELETE "+p+"/vms/{name}", f.deleteVM)
	mux.HandleFunc("POST "+p+"/vms/{name}/exec", f.exec)
	mux.HandleFunc("GET "+p+"/vms/{name}/files/list", f.listFiles)
	mux.HandleFunc("POST "+p+"/vms/{name}/files/read", f.readFile)
	mux.HandleFunc("POST "+p+"/vms/{name}/files/write", f.writeFile)
	mux.HandleFunc("POST "+p+"/vms/{name}/snapshot", f.snapshot)
	mux.HandleFunc("DELETE "+p+"/snapshots/{name}", f.deleteSnapshot)
	mux.HandleFunc("GET "+p+"/images", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, []api.Image{{Name: "debian-bookworm"}})
	})
	mux.HandleFunc("GET "+p+"/catalog", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, []api.CatalogEntry{{Kind: "image", Name: "alpine"}, {Kind: "kernel", Name: "k"}})
	})
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	f.client = &client.Client{Socket: sock}
	return f
}

// names lists the VMs, sorted.
func (f *fakeDaemon) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.vms {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// addVM adds a running VM, as if made elsewhere.
func (f *fakeDaemon) addVM(v api.VM) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v.State = "running"
	f.vms[v.Name] = &v
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.ErrorResponse{Error: api.ErrorFrom(err)})
}

func (f *fakeDaemon) listVMs(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []api.VM{}
	for _, v := range f.vms {
		if matches(v.Labels, r.URL.Query()[api.LabelQuery]) {
			out = append(out, *v)
		}
	}
	writeJSON(w, out)
}

func matches(labels map[string]string, terms []string) bool {
	for _, t := range terms {
		k, val, hasVal := strings.Cut(t, "=")
		got, ok := labels[k]
		if !ok || hasVal && got != val {
			return false
		}
	}
	return true
}

func (f *fakeDaemon) getVM(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[r.PathValue("name")]
	if !ok {
		writeErr(w, http.StatusNotFound, errdefs.NotFound("no VM named %q", r.PathValue("name")))
		return
	}
	writeJSON(w, v)
}

// createVM makes a running VM, streaming one progress event first.
func (f *fakeDaemon) createVM(w http.ResponseWriter, r *http.Request) {
	var req api.CreateVMRequest
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	_, taken := f.vms[req.Name]
	_, snapOK := f.snapshots[req.FromSnapshot]
	v := &api.VM{Name: req.Name, State: "running", Image: req.Image, Network: req.Network, VCPU: req.VCPU, MemoryMiB: req.MemoryMiB, DiskBytes: req.DiskBytes, Labels: req.Labels}
	if req.Workspace != nil {
		v.Workspace = &api.WorkspaceCopy{Top: req.Workspace.Path, Name: filepath.Base(req.Workspace.Path)}
	}
	if req.FromSnapshot != "" && snapOK {
		for k, b := range f.files {
			if src, p, _ := strings.Cut(k, ":"); src == f.snapshots[req.FromSnapshot]+"@"+req.FromSnapshot {
				f.files[req.Name+":"+p] = b
			}
		}
	}
	if !taken && (req.FromSnapshot == "" || snapOK) {
		f.vms[req.Name] = v
	}
	f.mu.Unlock()
	switch {
	case taken:
		writeErr(w, http.StatusConflict, errdefs.AlreadyExists("VM %s already exists", req.Name))
		return
	case req.FromSnapshot != "" && !snapOK:
		writeErr(w, http.StatusNotFound, errdefs.NotFound("no snapshot named %q", req.FromSnapshot))
		return
	}
	w.Header().Set("Content-Type", api.StreamContentType)
	enc := json.NewEncoder(w)
	enc.Encode(api.Event{Progress: &progress.Event{Step: "booting", Message: req.Name}})
	b, _ := json.Marshal(v)
	enc.Encode(api.Event{Result: b})
}

func (f *fakeDaemon) deleteVM(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.PathValue("name")
	if _, ok := f.vms[name]; !ok {
		writeErr(w, http.StatusNotFound, errdefs.NotFound("no VM named %q", name))
		return
	}
	delete(f.vms, name)
	w.WriteHeader(http.StatusNoContent)
}

// snapshot copies the VM's files under VM@SNAPSHOT.
func (f *fakeDaemon) snapshot(w http.ResponseWriter, r *http.Request) {
	var req api.SnapshotVMRequest
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	vm := r.PathValue("name")
	f.snapshots[req.Name] = vm
	for k, b := range f.files {
		if src, p, _ := strings.Cut(k, ":"); src == vm {
			f.files[vm+"@"+req.Name+":"+p] = b
		}
	}
	f.mu.Unlock()
	writeJSON(w, api.Snapshot{Name: req.Name, VM: vm, Bytes: 4096})
}

func (f *fakeDaemon) deleteSnapshot(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.snapshots, r.PathValue("name"))
	w.WriteHeader(http.StatusNoContent)
}

// hasSnapshots reports whether any snapshot is left.
func (f *fakeDaemon) hasSnapshots() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.snapshots) > 0
}

// upgrade answers 101 and hands over the connection, as bangerd does.
func upgrade(w http.ResponseWriter) (net.Conn, *bufio.Reader, *api.FrameWriter) {
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + api.UpgradeProtocol + "\r\n\r\n")
	brw.Flush()
	return conn, brw.Reader, api.NewFrameWriter(conn)
}

func writeExit(fw *api.FrameWriter, code int, signal string) {
	b, _ := json.Marshal(api.ExitStatus{Code: code, Signal: signal})
	fw.Write(api.FrameExit, b)
}

// readFile answers a file read from the map.
func (f *fakeDaemon) readFile(w http.ResponseWriter, r *http.Request) {
	var req api.FileRequest
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	b, ok := f.files[r.PathValue("name")+":"+req.Path]
	f.mu.Unlock()
	if !ok {
		writeErr(w, http.StatusNotFound, errdefs.NotFound("%s: no such file", req.Path))
		return
	}
	conn, _, fw := upgrade(w)
	defer conn.Close()
	fi, _ := json.Marshal(api.GuestFile{Path: req.Path, Type: api.FileRegular, Size: int64(len(b))})
	fw.Write(api.FrameFile, fi)
	fw.Write(api.FrameStdout, b)
	writeExit(fw, 0, "")
}

// listFiles lists the same three entries in any directory (down to
// the depth asked), 2500 files in /root/big, and fails for /root/nodir,
// a file, and /root/old, as an agent from before file operations.
func (f *fakeDaemon) listFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dir := q.Get("path")
	depth, _ := strconv.Atoi(q.Get("depth"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	switch dir {
	case "/root/nodir":
		writeErr(w, http.StatusBadRequest, errdefs.InvalidArgument("%s is not a directory", dir))
		return
	case "/root/old":
		writeErr(w, http.StatusPreconditionFailed, errdefs.Wrap(errdefs.KindFailedPrecondition, errors.New("the VM's guest agent predates file operations: rebuild the VM's image")))
		return
	}
	all := []api.GuestFile{{Path: dir + "/notes.txt", Type: "file", Size: 5}, {Path: dir + "/src", Type: "dir", Size: 4096}, {Path: dir + "/src/link", Type: "symlink", Size: 7}}
	if dir == "/root/big" {
		all = nil
		for i := range 2500 {
			all = append(all, api.GuestFile{Path: dir + "/f" + strconv.Itoa(i), Type: "file"})
		}
	}
	out := api.FileList{Files: []api.GuestFile{}}
	for _, fi := range all {
		if strings.Count(strings.TrimPrefix(fi.Path, dir), "/") > depth {
			continue
		}
		if len(out.Files) == limit {
			out.Truncated = true
			break
		}
		out.Files = append(out.Files, fi)
	}
	writeJSON(w, out)
}

// writeFile stores the input frames under the path.
func (f *fakeDaemon) writeFile(w http.ResponseWriter, r *http.Request) {
	var req api.WriteFileRequest
	json.NewDecoder(r.Body).Decode(&req)
	conn, br, fw := upgrade(w)
	defer conn.Close()
	var data []byte
	for {
		kind, payload, err := api.ReadFrame(br)
		if err != nil {
			return
		}
		if kind == api.FrameStdin {
			data = append(data, payload...)
		}
		if kind == api.FrameStdinEOF {
			break
		}
	}
	f.mu.Lock()
	f.files[r.PathValue("name")+":"+req.Path] = data
	f.mu.Unlock()
	perm := "-rw-r--r--"
	if req.Mode != nil {
		perm = "mode " + strconv.FormatUint(uint64(*req.Mode), 8)
	}
	fi, _ := json.Marshal(api.GuestFile{Path: req.Path, Type: api.FileRegular, Size: int64(len(data)), Permissions: perm})
	fw.Write(api.FrameFile, fi)
	writeExit(fw, 0, "")
}

// exec runs a fake command (see fakeCommand).
func (f *fakeDaemon) exec(w http.ResponseWriter, r *http.Request) {
	var req api.ExecRequest
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	f.execs = append(f.execs, req)
	f.mu.Unlock()
	conn, br, fw := upgrade(w)
	defer conn.Close()
	signals := make(chan string, 4)
	go func() {
		for {
			kind, payload, err := api.ReadFrame(br)
			if err != nil {
				close(signals)
				return
			}
			if kind == api.FrameSignal {
				signals <- string(payload)
			}
		}
	}()
	fakeCommand(req, fw, signals)
}

// fakeCommand is the guest: "exit N", "echo WORDS", "flood N" (N bytes
// of stdout), "sleep" (until a signal), and anything else exits 0.
func fakeCommand(req api.ExecRequest, fw *api.FrameWriter, signals <-chan string) {
	if guestScript(req, fw) {
		return
	}
	line := req.Command[len(req.Command)-1]
	verb, arg, _ := strings.Cut(line, " ")
	switch verb {
	case "exit":
		n, _ := strconv.Atoi(arg)
		writeExit(fw, n, "")
	case "echo":
		fw.Write(api.FrameStdout, []byte(arg+"\n"))
		writeExit(fw, 0, "")
	case "flood":
		n, _ := strconv.Atoi(arg)
		fw.Write(api.FrameStdout, []byte(strings.Repeat("y", n)))
		writeExit(fw, 0, "")
	case "sleep":
		if sig, ok := <-signals; ok {
			writeExit(fw, 137, sig)
		}
	default:
		writeExit(fw, 0, "")
	}
}

// guestScript plays the scripts the tools run: an export's parts. It reports false for anything else.
func guestScript(req api.ExecRequest, fw *api.FrameWriter) bool {
	if len(req.Command) < 5 {
		return false
	}
	switch {
	case slices.Equal(req.Command[:4], workspace.ExportCommand("")[:4]):
		part := map[string]string{"base": strings.Repeat("ab", 20) + "\n", "commits": "", "diff": "diff --git a/x b/x\n"}
		fw.Write(api.FrameStdout, []byte(part[req.Command[4]]))
		writeExit(fw, 0, "")
	default:
		return false
	}
	return true
}
