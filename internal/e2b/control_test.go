package e2b

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"banger/internal/errdefs"
)

func TestCreateAnswersWhatTheSDKReads(t *testing.T) {
	g := newRig(t)
	before := time.Now()
	sb := g.create(t, `{"templateID":"base","timeout":60,"metadata":{"user":"ann"},"envVars":{"A":"1"}}`)
	if !regexp.MustCompile(`^e2b-[a-z0-9]{12}$`).MatchString(sb.SandboxID) {
		t.Errorf("sandboxID %q: want e2b- and 12 letters and digits", sb.SandboxID)
	}
	port := strings.TrimPrefix(g.url[strings.LastIndex(g.url, ":"):], ":")
	if sb.TemplateID != "base" || sb.EnvdVersion != DefaultEnvdVersion || sb.EnvdAccessToken == "" ||
		sb.Domain != "localhost:"+port || sb.ClientID == "" {
		t.Errorf("create answered %+v", sb)
	}
	spec := g.vms.creates[0]
	if spec.Name != sb.SandboxID || spec.Image != "" || spec.Labels["user"] != "ann" || spec.Labels[LabelKey] != LabelValue {
		t.Errorf("VM made from %+v", spec)
	}
	v := g.vms.vms[sb.SandboxID]
	if d := v.ExpiresAt.Sub(before); d < 60*time.Second || d > 70*time.Second {
		t.Errorf("sandbox expires %v after create, want about 60s", d)
	}
}

func TestCreateV1NeedsSecureForAToken(t *testing.T) {
	g := newRig(t)
	var sb sandbox
	if resp := g.do(t, "POST", "/sandboxes", `{"templateID":"ghcr.io/acme/img:1"}`, &sb); resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if sb.EnvdAccessToken != "" || g.vms.creates[0].Image != "ghcr.io/acme/img:1" {
		t.Errorf("v1 create without secure: %+v, image %q", sb, g.vms.creates[0].Image)
	}
	if d := time.Until(g.vms.vms[sb.SandboxID].ExpiresAt); d > 16*time.Second {
		t.Errorf("v1 default timeout gave %v, want 15s", d)
	}
	g.do(t, "POST", "/sandboxes", `{"templateID":"base","secure":true}`, &sb)
	if sb.EnvdAccessToken == "" {
		t.Error("v1 create with secure has no access token")
	}
}

func TestCreateRefusals(t *testing.T) {
	for _, tt := range []struct{ name, body, msg string }{
		{"malformed", `{"templateID":`, "malformed request body"},
		{"wrong type", `{"templateID":"base","timeout":"long"}`, "malformed request body"},
		{"negative timeout", `{"templateID":"base","timeout":-1}`, "from 1 to"},
		{"huge timeout", `{"templateID":"base","timeout":99999999999}`, "from 1 to"},
		{"auto pause", `{"templateID":"base","autoPause":true}`, "autoPause"},
		{"volumes", `{"templateID":"base","volumeMounts":[{"name":"v","path":"/v"}]}`, "volumeMounts"},
		{"reserved metadata", `{"templateID":"base","metadata":{"e2b":"x"}}`, "banger's own"},
		{"deny some", `{"templateID":"base","network":{"denyOut":["1.1.1.1"]}}`, "denies all traffic or none"},
		{"rules", `{"templateID":"base","network":{"rules":{"a.com":[{}]}}}`, "rules"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newRig(t)
			var e apiError
			wantError(t, g.do(t, "POST", "/v2/sandboxes", tt.body, &e), e, http.StatusBadRequest, tt.msg)
			if len(g.vms.creates) != 0 {
				t.Error("a VM was made")
			}
		})
	}
}

func TestCreateUnknownTemplateIsABadRequest(t *testing.T) {
	g := newRig(t)
	g.vms.createErr = errdefs.NotFound("no image nope")
	var e apiError
	wantError(t, g.do(t, "POST", "/v2/sandboxes", `{"templateID":"nope"}`, &e), e, http.StatusBadRequest, "template nope")
}

func TestCreateNetworkPolicies(t *testing.T) {
	for body, want := range map[string]string{
		`{}`:                                    "",
		`{"allow_internet_access":true}`:        "",
		`{"allow_internet_access":false}`:       "none",
		`{"network":{"denyOut":["0.0.0.0/0"]}}`: "none",
		`{"network":{"allowOut":["1.1.1.1","a.com"],"denyOut":["0.0.0.0/0"]}}`: "allow=1.1.1.1,a.com",
		`{"allow_internet_access":false,"network":{"allowOut":["a.com"]}}`:     "allow=a.com",
		`{"network":{"allowOut":["a.com"]}}`:                                   "",
	} {
		g := newRig(t)
		g.create(t, body)
		if got := g.vms.creates[0].Network; got != want {
			t.Errorf("%s: policy %q, want %q", body, got, want)
		}
	}
}

func TestAPIKeyIsRequired(t *testing.T) {
	g := newRig(t)
	for name, headers := range map[string]map[string]string{
		"none":  nil,
		"wrong": {"X-API-KEY": "e2b_" + strings.Repeat("0", 64)},
		"short": {"X-API-KEY": g.key[:10]},
	} {
		var e apiError
		resp := g.send(t, "GET", "/v2/sandboxes", "", headers, &e)
		wantError(t, resp, e, http.StatusUnauthorized, "banger e2b env")
		if name == "none" && len(g.vms.creates) != 0 {
			t.Error("made a VM without a key")
		}
	}
}

func TestUnknownSandbox(t *testing.T) {
	g := newRig(t)
	// A VM that is not an E2B sandbox is not the API's either.
	g.vms.vms["plain"] = VM{Name: "plain", State: StateRunning}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/sandboxes/e2b-nope", ""},
		{"GET", "/sandboxes/plain", ""},
		{"DELETE", "/sandboxes/plain", ""},
		{"POST", "/sandboxes/e2b-nope/timeout", `{"timeout":5}`},
		{"POST", "/sandboxes/e2b-nope/pause", ""},
		{"POST", "/v2/sandboxes/e2b-nope/connect", `{"timeout":5}`},
		{"GET", "/sandboxes/e2b-nope/metrics", ""},
		{"PUT", "/sandboxes/e2b-nope/network", `{}`},
		{"POST", "/sandboxes/e2b-nope/fork", `{}`},
	} {
		var e apiError
		wantError(t, g.do(t, r.method, r.path, r.body, &e), e, http.StatusNotFound, "not found")
	}
	if _, ok := g.vms.vms["plain"]; !ok {
		t.Error("deleted a VM that is not a sandbox")
	}
}

func TestUnknownRouteIsJSON(t *testing.T) {
	g := newRig(t)
	var e apiError
	wantError(t, g.do(t, "GET", "/templates", "", &e), e, http.StatusNotFound, "not part of the E2B API")
}
