package firecracker

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"banger/internal/vmm"
)

var (
	specOnce   sync.Once
	loadedSpec *apiSpec
	specErr    error
)

// testSpec is the validator built from testdata's API spec.
func testSpec(t *testing.T) *apiSpec {
	t.Helper()
	specOnce.Do(func() { loadedSpec, specErr = loadSpec(specFile) })
	if specErr != nil {
		t.Fatalf("loading the API spec: %v", specErr)
	}
	return loadedSpec
}

// serveFake serves a validating fake API in a temp dir and returns it with
// a client for it.
func serveFake(t *testing.T) (*fakeAPI, *Client) {
	t.Helper()
	f := newFakeAPI(testSpec(t))
	sock := filepath.Join(t.TempDir(), "api.sock")
	srv, err := f.serve(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return f, NewClient(sock)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// assertValid fails the test for every call the fake found against the
// spec.
func assertValid(t *testing.T, calls []call) {
	t.Helper()
	for _, c := range calls {
		if c.Invalid != "" {
			t.Errorf("%s %s breaks the API spec: %s", c.Call, c.Body, c.Invalid)
		}
	}
}

func callNames(calls []call) []string {
	var names []string
	for _, c := range calls {
		names = append(names, c.Call)
	}
	return names
}

func configSpec() vmm.Spec {
	return vmm.Spec{
		Name: "dev", VCPU: 2, MemoryMiB: 1024,
		Kernel: "/k/vmlinux", Initrd: "/k/initrd.img",
		Cmdline: "root=/dev/vda work=/dev/vdb",
		Disks: []vmm.Disk{
			{ID: "root", Path: "/d/root.ext4", Format: "raw", ReadOnly: true},
			{ID: "upper", Path: "/d/upper.ext4"},
			{ID: "work", Path: "/d/work.ext4"},
		},
		NICs:        []vmm.NIC{{ID: "net0", Tap: "bg-tap0", MAC: "52:54:00:12:34:56"}},
		RunDir:      "/run/vm",
		AgentSocket: "/run/vm/agent.sock",
	}
}

// configure makes exactly the calls a boot needs, in order, each valid
// against the spec, with InstanceStart last.
func TestConfigureSequence(t *testing.T) {
	f, c := serveFake(t)
	s := configSpec()
	if err := configure(testCtx(t), c, s); err != nil {
		t.Fatalf("configure: %v", err)
	}
	calls := f.received()
	assertValid(t, calls)
	want := []string{
		"PUT /machine-config", "PUT /boot-source",
		"PUT /drives/root", "PUT /drives/upper", "PUT /drives/work",
		"PUT /network-interfaces/net0", "PUT /vsock", "PUT /actions",
	}
	if got := callNames(calls); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %q\nwant    %q", got, want)
	}
	wantBodies := []string{
		`{"vcpu_count":2,"mem_size_mib":1024}`,
		`{"kernel_image_path":"/k/vmlinux","initrd_path":"/k/initrd.img","boot_args":"console=ttyS0 reboot=k panic=1 root=/dev/vda work=/dev/vdb"}`,
		`{"drive_id":"root","path_on_host":"/d/root.ext4","is_root_device":false,"is_read_only":true}`,
		`{"drive_id":"upper","path_on_host":"/d/upper.ext4","is_root_device":false,"is_read_only":false}`,
		`{"drive_id":"work","path_on_host":"/d/work.ext4","is_root_device":false,"is_read_only":false}`,
		`{"iface_id":"net0","host_dev_name":"bg-tap0","guest_mac":"52:54:00:12:34:56"}`,
		`{"guest_cid":3,"uds_path":"/run/vm/agent.sock"}`,
		`{"action_type":"InstanceStart"}`,
	}
	for i, c := range calls {
		if string(c.Body) != wantBodies[i] {
			t.Errorf("%s body = %s\nwant %s", c.Call, c.Body, wantBodies[i])
		}
	}
	if st, err := c.DescribeInstance(testCtx(t)); err != nil || st.State != InstanceRunning {
		t.Errorf("after configure, GET / = %+v, %v; want Running", st, err)
	}
}

// The typed calls for later (pause, resume, snapshots) are valid too.
func TestSnapshotCallsMatchSpec(t *testing.T) {
	f, c := serveFake(t)
	ctx := testCtx(t)
	if err := configure(ctx, c, configSpec()); err != nil {
		t.Fatalf("configure: %v", err)
	}
	snapDir := t.TempDir()
	statePath, memPath := filepath.Join(snapDir, "vm.state"), filepath.Join(snapDir, "vm.mem")
	steps := []struct {
		name string
		run  func() error
	}{
		{"pause", func() error { return c.PatchVM(ctx, VMPaused) }},
		{"snapshot", func() error {
			return c.CreateSnapshot(ctx, SnapshotCreate{SnapshotType: "Full", SnapshotPath: statePath, MemFilePath: memPath})
		}},
		{"resume", func() error { return c.PatchVM(ctx, VMResumed) }},
		{"ctrl-alt-del", func() error { return c.Action(ctx, ActionSendCtrlAltDel) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
	// A load goes to a fresh process.
	fresh, fc := serveFake(t)
	load := SnapshotLoad{SnapshotPath: statePath, MemBackend: &MemoryBackend{BackendType: "File", BackendPath: memPath}, ResumeVM: true}
	if err := fc.LoadSnapshot(ctx, load); err != nil {
		t.Errorf("load: %v", err)
	}
	assertValid(t, append(f.received(), fresh.received()...))
}

// The validator is real: bodies that break the spec are caught, and the
// client reports the fake's 400 as an APIError naming the call.
func TestFakeRefusesInvalidBodies(t *testing.T) {
	cases := []struct {
		name, method, path string
		body               any
		wantInvalid        string
	}{
		{"wrong type", "PUT", "/machine-config", map[string]any{"vcpu_count": "2", "mem_size_mib": 512}, "vcpu_count"},
		{"unknown field", "PUT", "/machine-config", map[string]any{"vcpu_count": 2, "mem_size_mib": 512, "vcpus": 2}, "vcpus"},
		{"missing required", "PUT", "/boot-source", map[string]any{"boot_args": "console=ttyS0"}, "kernel_image_path"},
		{"not in enum", "PUT", "/actions", map[string]any{"action_type": "Reboot"}, "action_type"},
		{"below minimum", "PUT", "/vsock", map[string]any{"guest_cid": 2, "uds_path": "/v.sock"}, "guest_cid"},
		{"no such path", "PUT", "/reboot", map[string]any{}, "no matching operation"},
		{"wrong method", "DELETE", "/vm", nil, "method not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := serveFake(t)
			err := c.do(testCtx(t), tc.method, tc.path, tc.body, nil)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Path != tc.path {
				t.Fatalf("do = %v, want a 400 APIError for %s", err, tc.path)
			}
			calls := f.received()
			if len(calls) != 1 || !strings.Contains(calls[0].Invalid, tc.wantInvalid) {
				t.Errorf("fake recorded %+v, want one invalid call mentioning %q", calls, tc.wantInvalid)
			}
		})
	}
}

// Firecracker's error bodies reach the caller verbatim, with the call.
func TestAPIErrorCarriesFault(t *testing.T) {
	f, c := serveFake(t)
	const msg = "Invalid kernel path: No such file or directory (os error 2)"
	f.faults["PUT /boot-source"] = msg
	err := c.PutBootSource(testCtx(t), BootSource{KernelImagePath: "/nowhere"})
	if want := "firecracker: PUT /boot-source: 400: " + msg; err == nil || err.Error() != want {
		t.Fatalf("PutBootSource = %v\nwant %s", err, want)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Fault != msg {
		t.Errorf("error %#v carries no APIError with the fault", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	_, err := c.DescribeInstance(testCtx(t))
	if err == nil || !strings.HasPrefix(err.Error(), "firecracker: GET /: ") || strings.Contains(err.Error(), "http://") {
		t.Errorf("DescribeInstance on no socket = %v, want a short error naming the call", err)
	}
}
