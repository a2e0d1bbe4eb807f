package kubelet

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/eventually"
	"banger/internal/progress"
)

// fakeDaemon is bangerd in memory: VMs, images, guest files and one
// session per VM, which the test ends with exit.
type fakeDaemon struct {
	mu       sync.Mutex
	vms      map[string]api.VM
	images   []api.Image
	files    map[string]guestFile // by VM + ":" + path
	sessions map[string]*api.Session
	output   map[string]string // the session's output, by VM
	calls    []string
	// termExits makes a TERM end the session; otherwise only KILL does.
	termExits bool
	// execOut is what every exec prints before exiting execCode.
	execOut  string
	execCode int
}

func newFakeDaemon() *fakeDaemon {
	return &fakeDaemon{
		vms: map[string]api.VM{}, files: map[string]guestFile{},
		sessions: map[string]*api.Session{}, output: map[string]string{}, termExits: true,
		images: []api.Image{{Name: "debian-bookworm", Source: "catalog"}},
	}
}

func (f *fakeDaemon) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// called lists the calls whose text starts with prefix.
func (f *fakeDaemon) called(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeDaemon) ListVMs(ctx context.Context, labels ...string) ([]api.VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.VM
	for _, vm := range f.vms {
		if slices.ContainsFunc(labels, func(l string) bool {
			k, v, _ := strings.Cut(l, "=")
			return vm.Labels[k] != v
		}) {
			continue
		}
		out = append(out, vm)
	}
	return out, nil
}

func (f *fakeDaemon) GetVM(ctx context.Context, name string) (api.VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vm, ok := f.vms[name]
	if !ok {
		return vm, errdefs.NotFound("no VM named %s", name)
	}
	return vm, nil
}

func (f *fakeDaemon) CreateVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) (api.VM, error) {
	f.record("create %s image=%s vcpu=%d mem=%d", req.Name, req.Image, req.VCPU, req.MemoryMiB)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.vms[req.Name]; ok {
		return api.VM{}, errdefs.AlreadyExists("vm %s exists", req.Name)
	}
	vm := api.VM{Name: req.Name, State: "running", Image: req.Image, VCPU: req.VCPU, MemoryMiB: req.MemoryMiB,
		IP: fmt.Sprintf("172.16.0.%d", len(f.vms)+2), Labels: req.Labels, Ports: req.Ports}
	f.vms[req.Name] = vm
	return vm, nil
}

func (f *fakeDaemon) DeleteVM(ctx context.Context, name string) error {
	f.record("delete %s", name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.vms[name]; !ok {
		return errdefs.NotFound("no VM named %s", name)
	}
	delete(f.vms, name)
	delete(f.sessions, name)
	return nil
}

func (f *fakeDaemon) ListImages(ctx context.Context) ([]api.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.images), nil
}

func (f *fakeDaemon) PullImage(ctx context.Context, ref string, prog progress.Func) (api.Image, error) {
	f.record("pull %s", ref)
	f.mu.Lock()
	defer f.mu.Unlock()
	im := api.Image{Name: "pulled-" + fmt.Sprint(len(f.images)), Source: ref}
	f.images = append(f.images, im)
	return im, nil
}

func (f *fakeDaemon) WriteFile(ctx context.Context, vm string, req api.WriteFileRequest, data []byte) error {
	f.record("write %s %s", vm, req.Path)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[vm+":"+req.Path] = guestFile{Path: req.Path, Mode: *req.Mode, Data: slices.Clone(data)}
	return nil
}

func (f *fakeDaemon) ReadFile(ctx context.Context, vm, path string, limit int64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.files[vm+":"+path]
	if !ok {
		return nil, errdefs.NotFound("no file %s", path)
	}
	return g.Data, nil
}

func (f *fakeDaemon) StartSession(ctx context.Context, vm string, req api.StartSessionRequest) (api.Session, error) {
	f.record("start %s %s dir=%s env=%s", vm, strings.Join(req.Command, " "), req.Dir, strings.Join(req.Env, ","))
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.vms[vm]; !ok {
		return api.Session{}, errdefs.NotFound("no VM named %s", vm)
	}
	s := &api.Session{VM: vm, Name: req.Name, Argv: req.Command, State: api.SessionRunning, Started: time.Now()}
	f.sessions[vm] = s
	return *s, nil
}

func (f *fakeDaemon) ListSessions(ctx context.Context, vm string) ([]api.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.sessions[vm]; ok {
		return []api.Session{*s}, nil
	}
	return nil, nil
}

func (f *fakeDaemon) KillSession(ctx context.Context, vm, session, signal string) (api.Session, error) {
	f.record("kill %s %s", vm, signal)
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[vm]
	switch {
	case !ok:
		return api.Session{}, errdefs.NotFound("no session %s", session)
	case s.State == api.SessionExited:
		delete(f.sessions, vm) // an ended session is forgotten
	case signal == "KILL" || f.termExits:
		code := map[string]int{"KILL": 137, "TERM": 143}[signal]
		s.State, s.Exit, s.Ended = api.SessionExited, &api.ExitStatus{Code: code, Signal: signal}, time.Now()
	}
	return *s, nil
}

func (f *fakeDaemon) SessionLogs(ctx context.Context, vm, session string, follow bool, w io.Writer) error {
	f.mu.Lock()
	out, ok := f.output[vm]
	f.mu.Unlock()
	if !ok {
		return errdefs.NotFound("no session %s", session)
	}
	_, err := io.WriteString(w, out)
	return err
}

func (f *fakeDaemon) Exec(ctx context.Context, vm string, req api.ExecRequest) (Process, error) {
	f.record("exec %s %s", vm, strings.Join(req.Command, " "))
	f.mu.Lock()
	defer f.mu.Unlock()
	return &fakeProcess{out: []client.Output{{Stdout: []byte(f.execOut)}, {Exit: &api.ExitStatus{Code: f.execCode}}}}, nil
}

// exit ends vm's session with code, after it printed out.
func (f *fakeDaemon) exit(vm string, code int, out string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[vm]
	s.State, s.Exit, s.Ended = api.SessionExited, &api.ExitStatus{Code: code}, time.Now()
	f.output[vm] = out
}

// fakeProcess replays outputs.
type fakeProcess struct{ out []client.Output }

func (p *fakeProcess) Stdin(b []byte) error           { return nil }
func (p *fakeProcess) CloseStdin() error              { return nil }
func (p *fakeProcess) Resize(rows, cols uint16) error { return nil }
func (p *fakeProcess) Close() error                   { return nil }
func (p *fakeProcess) Next() (client.Output, error) {
	if len(p.out) == 0 {
		return client.Output{}, io.EOF
	}
	o := p.out[0]
	p.out = p.out[1:]
	return o, nil
}

// fakeVolumes holds ConfigMaps and Secrets by name.
type fakeVolumes struct {
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
}

func (v fakeVolumes) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	if c, ok := v.configMaps[name]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("configmap %q not found", name)
}

func (v fakeVolumes) Secret(ns, name string) (*corev1.Secret, error) {
	if s, ok := v.secrets[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("secret %q not found", name)
}

func (v fakeVolumes) Token(ctx context.Context, req tokenRequest, pod *corev1.Pod) (string, error) {
	return "token-of-" + req.ServiceAccount + "-for-" + pod.Name, nil
}

// testPod is a pod running cmd with the given restart policy.
func testPod(name string, policy corev1.RestartPolicy, cmd ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ci", UID: types.UID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")},
		Spec: corev1.PodSpec{
			RestartPolicy: policy,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox:1.36", Command: cmd}},
		},
	}
}

// watched is a provider on a fake daemon whose notifications a test
// reads.
type watched struct {
	*Provider
	d *fakeDaemon
}

func newWatched(t *testing.T, d *fakeDaemon) watched {
	t.Helper()
	p := NewProvider(ProviderConfig{
		Daemon: d, Node: "node-1", HostIP: "10.0.0.5", Sizes: Sizes{VCPU: 2, MemoryMiB: 1024, DiskBytes: 8 << 30},
		Volumes: fakeVolumes{}, LogDir: t.TempDir(), Poll: time.Millisecond, RestartDelay: time.Millisecond,
		Remove: func(_ context.Context, pod *corev1.Pod) error {
			// The cluster's side, recorded beside the daemon's calls so
			// that tests see the order.
			d.record("remove pod %s/%s uid=%s", pod.Namespace, pod.Name, pod.UID)
			return nil
		},
	})
	p.NotifyPods(context.Background(), func(*corev1.Pod) {})
	t.Cleanup(p.Close)
	return watched{p, d}
}

// await waits until the pod's status satisfies cond, and returns it.
func (w watched) await(t *testing.T, pod *corev1.Pod, cond func(corev1.PodStatus) bool) corev1.PodStatus {
	t.Helper()
	var st corev1.PodStatus
	eventually.True(t, func() bool {
		got, err := w.GetPodStatus(context.Background(), pod.Namespace, pod.Name)
		if err != nil {
			return false
		}
		st = *got
		return cond(st)
	})
	return st
}

func phase(p corev1.PodPhase) func(corev1.PodStatus) bool {
	return func(st corev1.PodStatus) bool { return st.Phase == p }
}
