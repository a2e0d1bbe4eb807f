package web

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/vmm/consolelog"
)

func TestVMListShowsStateDriverIPAndSpec(t *testing.T) {
	s := newTestServer(t, newFake(
		api.VM{Name: "box", State: "running", VMM: "qemu", Accel: "tcg", IP: "172.16.0.2", VCPU: 2, MemoryMiB: 1024, DiskBytes: 2 << 30, Image: "debian-bookworm"},
		api.VM{Name: "idle", State: "stopped", VMM: "firecracker", VCPU: 1, MemoryMiB: 512, DiskBytes: 8 << 30},
	))
	body := get(s, "/").Body.String()
	for _, want := range []string{
		`<a href="/vms/box">box</a>`, `data-state="running"`, "qemu", "(tcg)", "<code>172.16.0.2</code>",
		"2 vcpu · 1024 MiB · 2G disk", `action="/vms/box/stop"`,
		`data-state="stopped"`, "firecracker", `action="/vms/idle/start"`,
		`value="debian-bookworm"`, // the create form's default image
	} {
		if !strings.Contains(body, want) {
			t.Errorf("VM list lacks %q", want)
		}
	}
	if part := get(s, "/parts/vms").Body.String(); !strings.Contains(part, `id="vm-idle"`) || strings.Contains(part, "<html") {
		t.Errorf("rows part is not just the rows:\n%s", part)
	}
}

func TestImagesAndKernelsPages(t *testing.T) {
	s := newTestServer(t, newFake())
	if body := get(s, "/images").Body.String(); !strings.Contains(body, `data-image="debian-bookworm"`) || !strings.Contains(body, "1.0 GiB") {
		t.Errorf("images page:\n%s", body)
	}
	if body := get(s, "/kernels").Body.String(); !strings.Contains(body, `data-kernel="debian-6.1-cloud"`) || !strings.Contains(body, "6.1.0-1") {
		t.Errorf("kernels page:\n%s", body)
	}
	if w := get(s, "/nosuch"); w.Code != http.StatusNotFound {
		t.Errorf("unknown page: %d", w.Code)
	}
	if w := get(s, "/static/app.js"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "EventSource") {
		t.Errorf("app.js: %d", w.Code)
	}
	if w := get(s, "/static/"); w.Code != http.StatusNotFound {
		t.Errorf("static directory listing: %d", w.Code)
	}
}

func TestCreateShowsPendingThenTheVM(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	s := newTestServer(t, f)
	w := post(s, "/vms", url.Values{"name": {"fresh"}, "image": {"debian-bookworm"}, "vcpu": {"2"}, "memory_mib": {"1024"}, "disk_size": {"2G"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/vms/fresh" {
		t.Fatalf("create: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	// While the image is pulled, the VM is not recorded, yet it shows.
	eventually(t, "pending create shown", func() string {
		if body := get(s, "/parts/vms/fresh").Body.String(); !strings.Contains(body, "create in progress:</strong> pulling image debian-bookworm") {
			return body
		}
		return ""
	})
	if rows := get(s, "/parts/vms").Body.String(); !strings.Contains(rows, `id="vm-fresh"`) || !strings.Contains(rows, "create…") {
		t.Errorf("pending create not in the list:\n%s", rows)
	}
	if w := post(s, "/vms/fresh/delete", nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "is busy") {
		t.Errorf("delete during create: %d\n%s", w.Code, w.Body)
	}
	close(f.gate)
	eventually(t, "created VM shown", func() string {
		body := get(s, "/parts/vms/fresh").Body.String()
		if !strings.Contains(body, "create finished") || !strings.Contains(body, `id="stop"`) || !strings.Contains(body, "2 vcpu · 1024 MiB · 2G disk") {
			return body
		}
		return ""
	})
}

func TestCreateRejectsBadInput(t *testing.T) {
	f := newFake(api.VM{Name: "box", State: "running"})
	s := newTestServer(t, f)
	good := url.Values{"image": {"debian-bookworm"}, "vcpu": {"1"}, "memory_mib": {"1024"}, "disk_size": {"8G"}}
	tests := []struct {
		field, value, want string
	}{
		{"name", "Bad_Name", "lowercase letters"},
		{"name", "box", "already exists"},
		{"vcpu", "two", "use a whole number from 1"},
		{"memory_mib", "12", "MiB from 128"},
		{"disk_size", "16Q", "disk size"},
		{"disk_size", "100M", "too small"},
		{"image", "", "no image"},
	}
	for _, tt := range tests {
		form := url.Values{}
		for k, v := range good {
			form[k] = v
		}
		form.Set("name", "fresh")
		form.Set(tt.field, tt.value)
		w := post(s, "/vms", form)
		body := w.Body.String()
		if w.Code < 400 || !strings.Contains(body, tt.want) {
			t.Errorf("%s=%q: status %d, want an error with %q:\n%s", tt.field, tt.value, w.Code, tt.want, body)
		}
		// The form keeps what the user typed.
		if tt.value != "" && !strings.Contains(body, `value="`+tt.value+`"`) {
			t.Errorf("%s=%q: the form lost the value", tt.field, tt.value)
		}
	}
	if calls := f.called(); len(calls) != 0 {
		t.Errorf("bad creates reached the backend: %q", calls)
	}
}

func TestCreateWithoutNameGeneratesOne(t *testing.T) {
	f := newFake()
	s := newTestServer(t, f)
	w := post(s, "/vms", url.Values{"image": {"debian-bookworm"}, "vcpu": {"1"}, "memory_mib": {"1024"}, "disk_size": {"8G"}})
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/vms/") || len(loc) < len("/vms/a-b") {
		t.Fatalf("create without a name: %d %q", w.Code, loc)
	}
	s.ops.wait(context.Background())
	if _, err := f.GetVM(context.Background(), strings.TrimPrefix(loc, "/vms/")); err != nil {
		t.Errorf("generated VM: %v", err)
	}
}

func TestStartStopAndDelete(t *testing.T) {
	f := newFake(api.VM{Name: "box", State: "stopped", VMM: "qemu", VCPU: 1, MemoryMiB: 1024, DiskBytes: 8 << 30})
	f.gate = make(chan struct{})
	s := newTestServer(t, f)
	if w := post(s, "/vms/box/start", url.Values{"back": {"list"}}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("start: %d %q", w.Code, w.Header().Get("Location"))
	}
	eventually(t, "start pending", func() string {
		body := get(s, "/vms/box").Body.String()
		if !strings.Contains(body, "start in progress:</strong> waiting for the guest (tcg)") || strings.Contains(body, `id="stop"`) {
			return body
		}
		return ""
	})
	if w := post(s, "/vms/box/stop", nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "its start is still running") {
		t.Errorf("stop during start: %d\n%s", w.Code, w.Body)
	}
	close(f.gate)
	eventually(t, "started", func() string {
		if body := get(s, "/parts/vms/box").Body.String(); !strings.Contains(body, `id="stop"`) {
			return body
		}
		return ""
	})
	if w := post(s, "/vms/box/delete", nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "stop it first") {
		t.Errorf("delete of a running VM: %d\n%s", w.Code, w.Body)
	}
	if w := post(s, "/vms/box/stop", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/vms/box" {
		t.Fatalf("stop: %d %q", w.Code, w.Header().Get("Location"))
	}
	eventually(t, "stopped", func() string {
		if body := get(s, "/parts/vms/box").Body.String(); !strings.Contains(body, `id="start"`) || !strings.Contains(body, "stop finished") {
			return body
		}
		return ""
	})
	if w := post(s, "/vms/box/delete", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("delete: %d\n%s", w.Code, w.Body)
	}
	if w := get(s, "/vms/box"); w.Code != http.StatusNotFound {
		t.Errorf("deleted VM's page: %d", w.Code)
	}
	want := []string{"start box", "delete box", "stop box", "delete box"}
	if got := f.called(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("backend calls %q, want %q", got, want)
	}
	if w := post(s, "/vms/nosuch/start", nil); w.Code != http.StatusNotFound {
		t.Errorf("start of a missing VM: %d", w.Code)
	}
}

func TestVMPageShowsSessions(t *testing.T) {
	f := newFake(api.VM{Name: "box", State: "running"}, api.VM{Name: "other", State: "running"})
	s := newTestServer(t, f)
	if body := get(s, "/vms/box").Body.String(); !strings.Contains(body, "No sessions in this VM.") {
		t.Errorf("empty sessions panel:\n%s", body)
	}
	f.sessions = []api.Session{{VM: "box", Name: "build", Command: "make -j4", State: "running"}, {VM: "other", Name: "x"}}
	body := get(s, "/parts/vms/box").Body.String()
	if !strings.Contains(body, `data-session="build"`) || !strings.Contains(body, "make -j4") || strings.Contains(body, `data-session="x"`) {
		t.Errorf("sessions panel:\n%s", body)
	}
}

func TestConsoleStreamsTheLog(t *testing.T) {
	f := newFake(api.VM{Name: "box", State: "running"})
	f.console = filepath.Join(t.TempDir(), "console.log")
	s := newTestServer(t, f)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/vms/box/console", nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := readEvents(res)
	next := func(want string) {
		t.Helper()
		ev, ok := <-events
		if !ok || ev != want {
			t.Fatalf("event %q, want %q", ev, want)
		}
	}
	next(`reset ""`)
	next(`note "no console output yet: the VM has not booted"`)
	// The log appears, then grows; a character split across writes
	// arrives whole.
	if err := os.WriteFile(f.console, []byte("Linux version 6.1\n\xc3"), 0o600); err != nil {
		t.Fatal(err)
	}
	next(`append "Linux version 6.1\n"`)
	appendFile(t, f.console, "\xa9 login:")
	next(`append "é login:"`)
	// A rotation goes unnoticed: nothing is lost, nothing is cleared.
	appendFile(t, f.console, " more")
	if ok, err := consolelog.Rotate(f.console, 20); !ok || err != nil {
		t.Fatalf("Rotate = %v, %v", ok, err)
	}
	appendFile(t, f.console, " after")
	next(`append " more"`)
	next(`append " after"`)
	// A new boot truncates the log.
	if err := os.WriteFile(f.console, []byte("again"), 0o600); err != nil {
		t.Fatal(err)
	}
	next(`reset ""`)
	next(`append "again"`)

	if w := get(s, "/vms/nosuch/console"); w.Code != http.StatusNotFound {
		t.Errorf("console of a missing VM: %d", w.Code)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// readEvents turns a server-sent event stream into "EVENT DATA" strings.
func readEvents(res *http.Response) <-chan string {
	out := make(chan string, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		var event string
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				out <- event + " " + d
			}
		}
	}()
	return out
}

// TestPartsAreStable: the scripts replace a part only when it changed, so
// an unchanged VM must render the same bytes (no "2 min ago" that moves).
func TestPartsAreStable(t *testing.T) {
	s := newTestServer(t, newFake(api.VM{Name: "box", State: "running", CreatedAt: time.Now().Add(-90 * time.Minute)}))
	for _, path := range []string{"/parts/vms", "/parts/vms/box"} {
		if a, b := get(s, path).Body.String(), get(s, path).Body.String(); a != b {
			t.Errorf("%s changed between two requests:\n%s\n---\n%s", path, a, b)
		}
	}
}

// TestConfigWarningShown: while config.toml is invalid the pages say so,
// but not to a browser that is not logged in.
func TestConfigWarningShown(t *testing.T) {
	f := newFake()
	f.warning = "config.toml is invalid (line 3: vcpu: not a number); bangerd uses the last good config until it is fixed"
	s, _ := remoteServer(t, f)
	if w := get(s, "/"); !strings.Contains(w.Body.String(), "config.toml is invalid (line 3") {
		t.Errorf("the VM list does not show the config warning:\n%s", w.Body)
	}
	r := httptest.NewRequest(http.MethodGet, "http://192.168.1.10:7777/", nil)
	if w := from(s, r, lanClient, lanServer); w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), "config.toml") {
		t.Errorf("the login page: status %d, shows the config warning %t; want 401 without it", w.Code, strings.Contains(w.Body.String(), "config.toml"))
	}
}

// A VM's labels show in its row and on its page, with its expiry; text
// from a label is escaped.
func TestVMLabelsAndExpiryShown(t *testing.T) {
	expires := time.Date(2031, 2, 3, 4, 5, 6, 0, time.Local)
	s := newTestServer(t, newFake(
		api.VM{Name: "box", State: "stopped", VMM: "qemu", VCPU: 1, MemoryMiB: 512, DiskBytes: 1 << 30,
			Labels: map[string]string{"team": "infra", "note": "<b>hi</b>"}, ExpiresAt: expires},
	))
	for _, path := range []string{"/", "/vms/box"} {
		body := get(s, path).Body.String()
		for _, want := range []string{`<span class="label">team=infra</span>`, `note=&lt;b&gt;hi&lt;/b&gt;`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
	if body := get(s, "/vms/box").Body.String(); !strings.Contains(body, "<dt>expires</dt><dd>2031-02-03 04:05:06</dd>") {
		t.Errorf("VM page lacks the expiry:\n%s", body)
	}
}
