package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"banger/internal/api"
)

// formOf returns the form of body that posts to action, "" if none.
func formOf(body, action string) string {
	start := strings.Index(body, `<form method="post" action="`+action+`"`)
	if start < 0 {
		return ""
	}
	end := strings.Index(body[start:], "</form>")
	if end < 0 {
		return ""
	}
	return body[start : start+end+len("</form>")]
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// submit posts the form of body that posts to action with its hidden
// fields, as a click on its button does.
func submit(t *testing.T, s *Server, body, action string) *http.Response {
	t.Helper()
	form := formOf(body, action)
	if form == "" {
		t.Fatalf("no form posting to %s in:\n%s", action, body)
	}
	values := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(form, -1) {
		values.Add(m[1], html.UnescapeString(m[2]))
	}
	return post(s, action, values).Result()
}

// rowOf returns the VM list's row of name.
func rowOf(t *testing.T, body, name string) string {
	t.Helper()
	start := strings.Index(body, `<tr id="vm-`+name+`"`)
	if start < 0 {
		t.Fatalf("no row for %s in:\n%s", name, body)
	}
	return body[start : start+strings.Index(body[start:], "</tr>")]
}

func erroredFake() *fakeBackend {
	return newFake(
		// Its last start failed: the VMM is gone.
		api.VM{Name: "broke", State: "stopped", LastError: "booting on qemu: no /dev/kvm"},
		// Its guest did not get ready: the VMM runs on.
		api.VM{Name: "stuck", State: "running", LastError: "the guest agent did not answer within 3m"},
		api.VM{Name: "fine", State: "running"},
	)
}

func TestVMListOffersStartAndDeleteForVMsInError(t *testing.T) {
	s := newTestServer(t, erroredFake())
	body := get(s, "/").Body.String()

	broke := rowOf(t, body, "broke")
	if !strings.Contains(broke, `data-error title="booting on qemu: no /dev/kvm">error</span>`) {
		t.Errorf("a VM in error does not say so:\n%s", broke)
	}
	for _, action := range []string{"/vms/broke/start", "/vms/broke/delete"} {
		if formOf(broke, action) == "" {
			t.Errorf("stopped VM in error: no %s button:\n%s", action, broke)
		}
	}
	if strings.Contains(formOf(broke, "/vms/broke/delete"), `name="force"`) {
		t.Errorf("a stopped VM needs no force to delete:\n%s", broke)
	}

	stuck := rowOf(t, body, "stuck")
	for _, action := range []string{"/vms/stuck/restart", "/vms/stuck/stop", "/vms/stuck/delete"} {
		if formOf(stuck, action) == "" {
			t.Errorf("running VM in error: no %s button:\n%s", action, stuck)
		}
	}
	del := formOf(stuck, "/vms/stuck/delete")
	if !strings.Contains(del, `<input type="hidden" name="force" value="1">`) || !strings.Contains(del, `data-confirm="Delete VM stuck and its disks? Its VMM is killed first."`) {
		t.Errorf("deleting a running VM in error must force, after a confirmation:\n%s", del)
	}

	fine := rowOf(t, body, "fine")
	if strings.Contains(fine, "data-error") || formOf(fine, "/vms/fine/restart") != "" || formOf(fine, "/vms/fine/delete") != "" {
		t.Errorf("a healthy VM shows error actions:\n%s", fine)
	}
}

func TestVMPageOffersStartAndDeleteForVMsInError(t *testing.T) {
	s := newTestServer(t, erroredFake())
	stuck := get(s, "/vms/stuck").Body.String()
	for _, want := range []string{`id="restart"`, `id="stop"`, `id="delete"`, `<input type="hidden" name="force" value="1">`} {
		if !strings.Contains(stuck, want) {
			t.Errorf("page of a running VM in error lacks %q", want)
		}
	}
	if strings.Contains(stuck, "also if running") {
		t.Errorf("a VM in error needs no \"also if running\" tick to delete")
	}
	if broke := get(s, "/vms/broke").Body.String(); !strings.Contains(broke, `id="start"`) || !strings.Contains(broke, `id="delete"`) {
		t.Errorf("page of a stopped VM in error lacks start or delete:\n%s", broke)
	}
	// A healthy running VM is deleted only with the box ticked.
	fine := get(s, "/vms/fine").Body.String()
	if del := formOf(fine, "/vms/fine/delete"); !strings.Contains(del, `type="checkbox" name="force"`) || strings.Contains(del, `type="hidden" name="force"`) {
		t.Errorf("delete of a healthy running VM:\n%s", del)
	}
}

func TestVMsInErrorStartRestartAndDelete(t *testing.T) {
	f := erroredFake()
	s := newTestServer(t, f)
	list := get(s, "/").Body.String()
	if res := submit(t, s, list, "/vms/broke/start"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start of a VM in error: %d", res.StatusCode)
	}
	if res := submit(t, s, list, "/vms/stuck/restart"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("restart of a VM in error: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	eventually(t, "both VMs running without error", func() string {
		rows := get(s, "/parts/vms").Body.String()
		if strings.Contains(rows, "data-error") || strings.Count(rows, `data-state="running"`) != 3 {
			return rows
		}
		return ""
	})

	f.mu.Lock()
	f.vms["stuck"] = api.VM{Name: "stuck", State: "running", LastError: "the guest agent did not answer"}
	f.mu.Unlock()
	page := get(s, "/vms/stuck").Body.String()
	if res := submit(t, s, page, "/vms/stuck/delete"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("delete of a running VM in error: %d", res.StatusCode)
	}
	if _, err := f.GetVM(t.Context(), "stuck"); err == nil {
		t.Errorf("the VM in error is still there")
	}
	calls := f.called()
	slices.Sort(calls) // start and restart run side by side
	want := "delete stuck,restart stuck,start broke"
	if got := strings.Join(calls, ","); got != want {
		t.Errorf("backend calls %q, want %q", got, want)
	}
}
