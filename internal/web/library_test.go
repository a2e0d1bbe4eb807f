package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"banger/internal/api"
)

func TestSnapshotsPageListsSnapshots(t *testing.T) {
	f := newFake()
	s := newTestServer(t, f)
	if body := get(s, "/snapshots").Body.String(); !strings.Contains(body, "No snapshots yet") {
		t.Errorf("empty snapshots page:\n%s", body)
	}
	f.snaps = []api.Snapshot{{
		Name: "warm-db", VM: "db", Image: "debian-bookworm", VCPU: 2, MemoryMiB: 2048,
		VMM: "qemu", Accel: "tcg", Bytes: 3 << 29, CreatedAt: time.Now(),
	}}
	w := get(s, "/snapshots")
	body := w.Body.String()
	for _, want := range []string{
		`<a href="/snapshots" aria-current="page">Snapshots</a>`,
		`<tr data-snapshot="warm-db"><td>warm-db</td><td>db</td><td>debian-bookworm</td><td>2 vcpu · 2048 MiB</td>`,
		"qemu", "(tcg)", "1.5 GiB",
	} {
		if w.Code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("snapshots page (%d) lacks %q:\n%s", w.Code, want, body)
		}
	}
	if nav := get(s, "/").Body.String(); !strings.Contains(nav, `<a href="/snapshots">Snapshots</a>`) {
		t.Errorf("the VM list has no link to the snapshots")
	}
}

func TestPullImageFromThePage(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	s := newTestServer(t, f)
	page := get(s, "/images").Body.String()
	form := formOf(page, "/images/pull")
	for _, want := range []string{`name="csrf" value="` + s.csrf + `"`, `name="name"`, `list="catalog"`} {
		if !strings.Contains(form, want) {
			t.Errorf("pull form lacks %q:\n%s", want, form)
		}
	}
	if !strings.Contains(page, `<option value="alpine-3">Alpine Linux</option>`) || strings.Contains(page, `<option value="debian-6.1-cloud">`) {
		t.Errorf("the suggestions are not the catalog's images:\n%s", page)
	}

	// Without the token, nothing is pulled.
	if w := post(s, "/images/pull", url.Values{"name": {"alpine-3"}, csrfField: {""}}); w.Code != http.StatusForbidden {
		t.Errorf("pull without the CSRF token: %d", w.Code)
	}
	if calls := f.called(); len(calls) != 0 {
		t.Fatalf("a pull without the token reached the backend: %q", calls)
	}

	w := post(s, "/images/pull", url.Values{"name": {" alpine-3 "}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/images" {
		t.Fatalf("pull: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	eventually(t, "pull in progress shown", func() string {
		part := get(s, "/parts/images").Body.String()
		if !strings.Contains(part, "pulling alpine-3:</strong> downloading alpine-3") || strings.Contains(part, "<html") {
			return part
		}
		return ""
	})
	if w := post(s, "/images/pull", url.Values{"name": {"alpine-3"}}); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "image alpine-3 is busy: its pull is still running") {
		t.Errorf("second pull of the same image: %d\n%s", w.Code, w.Body)
	}
	close(f.gate)
	eventually(t, "pulled image listed", func() string {
		part := get(s, "/parts/images").Body.String()
		if !strings.Contains(part, "pulled alpine-3") || !strings.Contains(part, `data-image="alpine-3"`) {
			return part
		}
		return ""
	})
	if got := strings.Join(f.called(), ","); got != "pull alpine-3" {
		t.Errorf("backend calls %q, want one pull", got)
	}
}

func TestPullImageFailures(t *testing.T) {
	f := newFake()
	s := newTestServer(t, f)
	w := post(s, "/images/pull", url.Values{"name": {"  "}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "no image to pull") || formOf(w.Body.String(), "/images/pull") == "" {
		t.Errorf("pull without a name: %d\n%s", w.Code, w.Body)
	}
	if w := post(s, "/images/pull", url.Values{"name": {"nosuch"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("pull: %d", w.Code)
	}
	eventually(t, "failed pull shown", func() string {
		part := get(s, "/parts/images").Body.String()
		if !strings.Contains(part, "pull of nosuch failed:</strong> <span class=\"op-error\">no image named nosuch in the catalog") {
			return part
		}
		return ""
	})
}
