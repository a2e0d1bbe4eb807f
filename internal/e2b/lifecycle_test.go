package e2b

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestGetAndList(t *testing.T) {
	g := newRig(t)
	a := g.create(t, `{"templateID":"base","metadata":{"team":"x y","app":"web"}}`)
	b := g.create(t, `{"templateID":"base","metadata":{"team":"z"}}`)
	g.vms.vms["plain"] = VM{Name: "plain", State: StateRunning}
	var d sandboxDetail
	if resp := g.do(t, "GET", "/sandboxes/"+a.SandboxID, "", &d); resp.StatusCode != http.StatusOK {
		t.Fatalf("get: %d", resp.StatusCode)
	}
	if d.SandboxID != a.SandboxID || d.State != "running" || d.Metadata["team"] != "x y" || d.Metadata[LabelKey] != "" ||
		d.CPUCount != 2 || d.MemoryMB != 1024 || d.EnvdAccessToken != a.EnvdAccessToken || d.EndAt.IsZero() {
		t.Errorf("get answered %+v", d)
	}
	var all []listedSandbox
	g.do(t, "GET", "/v2/sandboxes", "", &all)
	if len(all) != 2 {
		t.Fatalf("list: %d sandboxes, want 2 (not the plain VM)", len(all))
	}
	// The SDK encodes each key and value, then the whole filter.
	filter := url.QueryEscape(url.PathEscape("team") + "=" + url.PathEscape("x y"))
	var some []listedSandbox
	g.do(t, "GET", "/v2/sandboxes?metadata="+filter+"&state=running,paused", "", &some)
	if len(some) != 1 || some[0].SandboxID != a.SandboxID {
		t.Errorf("metadata filter gave %+v", some)
	}
	g.vms.Suspend(t.Context(), b.SandboxID)
	g.do(t, "GET", "/v2/sandboxes?state=paused", "", &some)
	if len(some) != 1 || some[0].SandboxID != b.SandboxID || some[0].State != "paused" {
		t.Errorf("state filter gave %+v", some)
	}
	g.do(t, "GET", "/sandboxes", "", &some)
	if len(some) != 1 || some[0].SandboxID != a.SandboxID {
		t.Errorf("the old list (running only) gave %+v", some)
	}
}

func TestListPages(t *testing.T) {
	g := newRig(t)
	var ids []string
	for range 3 {
		ids = append(ids, g.create(t, `{"templateID":"base"}`).SandboxID)
	}
	var seen []string
	token := ""
	for range 3 {
		var page []listedSandbox
		resp := g.do(t, "GET", "/v2/sandboxes?limit=2&nextToken="+token, "", &page)
		for _, p := range page {
			seen = append(seen, p.SandboxID)
		}
		if token = resp.Header.Get("X-Next-Token"); token == "" {
			break
		}
	}
	slices.Sort(ids)
	slices.Sort(seen)
	if !slices.Equal(ids, seen) {
		t.Errorf("pages gave %v, want each of %v once", seen, ids)
	}
	var e apiError
	wantError(t, g.do(t, "GET", "/v2/sandboxes?limit=0", "", &e), e, http.StatusBadRequest, "limit")
}

func TestKill(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base"}`)
	if resp := g.do(t, "DELETE", "/sandboxes/"+sb.SandboxID, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("kill: %d", resp.StatusCode)
	}
	if _, ok := g.vms.vms[sb.SandboxID]; ok || !slices.Contains(g.envd.forgotten, sb.SandboxID) {
		t.Errorf("kill left the VM, or envd's table of it")
	}
	if _, found, _ := g.s.records.get(sb.SandboxID); found {
		t.Error("kill left the sandbox's record")
	}
	// The SDK's kill() reads a 404 as "already gone".
	var e apiError
	wantError(t, g.do(t, "DELETE", "/sandboxes/"+sb.SandboxID, "", &e), e, http.StatusNotFound, "not found")
}

func TestSetTimeout(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base","timeout":3600}`)
	if resp := g.do(t, "POST", "/sandboxes/"+sb.SandboxID+"/timeout", `{"timeout":30}`, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("timeout: %d", resp.StatusCode)
	}
	if d := time.Until(g.vms.vms[sb.SandboxID].ExpiresAt); d > 31*time.Second || d < 25*time.Second {
		t.Errorf("timeout 30 left %v", d)
	}
	var e apiError
	wantError(t, g.do(t, "POST", "/sandboxes/"+sb.SandboxID+"/timeout", `{}`, &e), e, http.StatusBadRequest, "timeout")
	wantError(t, g.do(t, "POST", "/sandboxes/"+sb.SandboxID+"/timeout", `nope`, &e), e, http.StatusBadRequest, "malformed")
}

func TestPauseAndConnect(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base","timeout":60}`)
	path := "/sandboxes/" + sb.SandboxID
	if resp := g.do(t, "POST", path+"/pause", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("pause: %d", resp.StatusCode)
	}
	if g.vms.vms[sb.SandboxID].State != StateSuspended {
		t.Fatal("pause did not suspend the VM")
	}
	var e apiError
	wantError(t, g.do(t, "POST", path+"/pause", "{}", &e), e, http.StatusConflict, "already paused")
	var back sandbox
	if resp := g.do(t, "POST", "/v2"+path+"/connect", `{"timeout":600}`, &back); resp.StatusCode != http.StatusCreated {
		t.Fatalf("connect to a paused sandbox: %d", resp.StatusCode)
	}
	if g.vms.vms[sb.SandboxID].State != StateRunning || back.EnvdAccessToken != sb.EnvdAccessToken || back.SandboxID != sb.SandboxID {
		t.Errorf("connect: VM %s, answer %+v", g.vms.vms[sb.SandboxID].State, back)
	}
	// Connecting to a running sandbox only ever moves its expiry later.
	if resp := g.do(t, "POST", "/v2"+path+"/connect", `{"timeout":5}`, &back); resp.StatusCode != http.StatusOK {
		t.Fatalf("connect to a running sandbox: %d", resp.StatusCode)
	}
	if d := time.Until(g.vms.vms[sb.SandboxID].ExpiresAt); d < 500*time.Second {
		t.Errorf("connect with a shorter timeout cut the expiry to %v", d)
	}
	wantError(t, g.do(t, "POST", path+"/resume", `{}`, &e), e, http.StatusConflict, "already running")
}

func TestPauseWithoutMemoryStops(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base"}`)
	g.do(t, "POST", "/sandboxes/"+sb.SandboxID+"/pause", `{"memory":false}`, nil)
	if g.vms.vms[sb.SandboxID].State != StateStopped {
		t.Errorf("pause without memory left the VM %s, want stopped", g.vms.vms[sb.SandboxID].State)
	}
	var e apiError
	wantError(t, g.do(t, "POST", "/v2/sandboxes/"+sb.SandboxID+"/connect", `{"memory":false}`, &e), e, http.StatusBadRequest, "memory: false")
	var back sandbox
	if resp := g.do(t, "POST", "/sandboxes/"+sb.SandboxID+"/resume", `{"timeout":20}`, &back); resp.StatusCode != http.StatusCreated {
		t.Errorf("resume: %d", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	g := newRig(t)
	g.vms.stats = Stats{CPUPercent: 50, MemUsed: 100 << 20, MemTotal: 1 << 30, DiskUsed: 1 << 30, DiskTotal: 4 << 30}
	sb := g.create(t, `{"templateID":"base"}`)
	var ms []metric
	g.do(t, "GET", "/sandboxes/"+sb.SandboxID+"/metrics", "", &ms)
	if len(ms) != 1 || ms[0].CPUCount != 2 || ms[0].CPUUsedPct != 25 || ms[0].MemTotal != 1<<30 || ms[0].DiskUsed != 1<<30 || ms[0].TimestampUnix == 0 {
		t.Errorf("metrics %+v", ms)
	}
	g.vms.Suspend(t.Context(), sb.SandboxID)
	g.do(t, "GET", "/sandboxes/"+sb.SandboxID+"/metrics", "", &ms)
	if len(ms) != 0 {
		t.Errorf("a paused sandbox has metrics %+v", ms)
	}
}

func TestUpdateNetwork(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base"}`)
	path := "/sandboxes/" + sb.SandboxID + "/network"
	for body, want := range map[string]string{
		`{"allow_internet_access":false}`:                     "none",
		`{"allowOut":["10.0.0.0/8"],"denyOut":["0.0.0.0/0"]}`: "allow=10.0.0.0/8",
		`{}`: "internet",
	} {
		if resp := g.do(t, "PUT", path, body, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: %d", body, resp.StatusCode)
		}
		if got := g.vms.vms[sb.SandboxID].Network; got != want {
			t.Errorf("%s: policy %q, want %q", body, got, want)
		}
	}
	var e apiError
	wantError(t, g.do(t, "PUT", path, `{"denyOut":["8.8.8.8"]}`, &e), e, http.StatusBadRequest, "denyOut")
}

func TestFork(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base","metadata":{"k":"v"},"envVars":{"A":"1"}}`)
	var res []forkResult
	if resp := g.do(t, "POST", "/sandboxes/"+sb.SandboxID+"/fork", `{"count":2,"timeout":60}`, &res); resp.StatusCode != http.StatusCreated {
		t.Fatalf("fork: %d", resp.StatusCode)
	}
	if len(res) != 2 || res[0].Sandbox == nil || res[1].Sandbox == nil || res[0].Sandbox.SandboxID == res[1].Sandbox.SandboxID {
		t.Fatalf("fork answered %+v", res)
	}
	f := res[0].Sandbox
	if f.EnvdAccessToken == sb.EnvdAccessToken || g.vms.vms[f.SandboxID].Labels["k"] != "v" {
		t.Errorf("fork %+v shares the token or lost the metadata", f)
	}
	if rec, _, _ := g.s.records.get(f.SandboxID); rec.Env["A"] != "1" {
		t.Errorf("fork lost the environment: %+v", rec)
	}
	if len(g.vms.snapshots) != 0 || !slices.Contains(g.vms.calls, "snapshot-rm") {
		t.Error("the fork's snapshot stayed")
	}
	var e apiError
	wantError(t, g.do(t, "POST", "/sandboxes/"+sb.SandboxID+"/fork", `{"count":99}`, &e), e, http.StatusBadRequest, "count")
	g.vms.Suspend(t.Context(), sb.SandboxID)
	wantError(t, g.do(t, "POST", "/sandboxes/"+sb.SandboxID+"/fork", `{}`, &e), e, http.StatusConflict, "paused")
}

// TestDeletedOutsideIsForgotten: a sandbox whose VM went another way
// (expired, `banger vm delete`) is forgotten at the next list.
func TestDeletedOutsideIsForgotten(t *testing.T) {
	g := newRig(t)
	sb := g.create(t, `{"templateID":"base"}`)
	keep := g.create(t, `{"templateID":"base"}`)
	g.vms.Delete(t.Context(), sb.SandboxID)
	g.s.now = func() time.Time { return time.Now().Add(time.Minute) }
	var all []listedSandbox
	g.do(t, "GET", "/v2/sandboxes", "", &all)
	if len(all) != 1 || all[0].SandboxID != keep.SandboxID {
		t.Errorf("list gave %+v", all)
	}
	if _, found, _ := g.s.records.get(sb.SandboxID); found || !slices.Contains(g.envd.forgotten, sb.SandboxID) {
		t.Error("the deleted sandbox's record or envd table stayed")
	}
	if _, found, _ := g.s.records.get(keep.SandboxID); !found {
		t.Error("a live sandbox's record went")
	}
}
