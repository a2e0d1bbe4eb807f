package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestE2BHarness checks the SDK harness itself, without a VM or root:
// node loads the pinned SDK and the scenarios, they pass against a
// server that answers as bangerd must, and they fail clearly, with the
// reason, when the server refuses, makes no sandbox or is not there.
// The stand-in below answers only the control plane's refusals; the
// real API is bangerd's, which TestE2BSDK drives.
func TestE2BHarness(t *testing.T) {
	sdk := needE2BSDK(t)
	const key = "e2b_harness_key"
	srv := httptest.NewServer(refusingControlPlane(key))
	defer srv.Close()
	env := harnessEnv(srv.URL, key)

	t.Run("every scenario TestE2BSDK runs exists", func(t *testing.T) {
		r := sdk.run("", env, time.Minute, "--list")
		if r.code != 0 {
			t.Fatalf("the SDK or the scenarios do not load: %s", r)
		}
		listed := strings.Fields(strings.ReplaceAll(r.stdout, "(shares --sandbox)", ""))
		for _, name := range slices.Concat([]string{"create", "kill"}, sharedScenarios, restartScenarios[:], ownScenarios) {
			if !slices.Contains(listed, name) {
				t.Errorf("scenario.mjs --list lacks %q: %s", name, r.stdout)
			}
		}
	})
	t.Run("passes against a server that refuses as it should", func(t *testing.T) {
		r := sdk.run("", env, time.Minute, "apierrors")
		if r.code != 0 || len(r.lines) < 4 || !r.lines[len(r.lines)-1].OK {
			t.Fatalf("apierrors against the stand-in: %s", r)
		}
	})
	t.Run("a refused create fails with the SDK's error", func(t *testing.T) {
		r := sdk.run("", env, time.Minute, "create")
		wantFailure(t, r, 1, "SandboxError", "501: this server makes no sandboxes")
	})
	t.Run("a server that is not there fails with the reason", func(t *testing.T) {
		r := sdk.run("", harnessEnv("http://"+closedAddr(t), key), time.Minute, "create")
		wantFailure(t, r, 1, "TypeError", "ECONNREFUSED")
		if !strings.Contains(r.stdout, "e2b_listen_addr") {
			t.Errorf("the failure does not say how to point the SDK at bangerd: %s", r)
		}
	})
	t.Run("the bench script loads and reports a failure", func(t *testing.T) {
		r := sdk.runScript("bench.mjs", "", env, time.Minute, "roundtrip")
		if r.code != 1 || !strings.Contains(r.stdout, `"error":"SandboxError: 501: this server makes no sandboxes`) {
			t.Errorf("bench.mjs roundtrip against the stand-in: %s", r)
		}
	})
	t.Run("without the variables it says which are missing", func(t *testing.T) {
		r := sdk.run("", harnessEnv("", ""), time.Minute, "create")
		if r.code != 2 || !strings.Contains(r.stderr, "E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY not set") {
			t.Errorf("run without the connection variables: %s", r)
		}
	})
}

// wantFailure checks that a run exited with code after one failed check
// of class cls whose error says want.
func wantFailure(t *testing.T, r sdkRun, code int, cls, want string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d: %s", r.code, code, r)
	}
	for _, l := range r.lines {
		if !l.OK && !l.Done && l.ErrorClass == cls && strings.Contains(l.Error, want) {
			return
		}
	}
	t.Errorf("no failed check of class %s saying %q: %s", cls, want, r)
}

// refusingControlPlane answers E2B's control plane as bangerd must when
// it refuses: 401 for a wrong key, 404 for an unknown sandbox, 400 for a
// body it cannot read, each as {"code", "message"}. It makes no sandbox.
func refusingControlPlane(key string) http.Handler {
	refuse := func(w http.ResponseWriter, code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("X-API-KEY") != key:
			refuse(w, http.StatusUnauthorized, "invalid API key")
		case r.Method == http.MethodPost && r.URL.Path == "/v2/sandboxes":
			var body struct {
				TemplateID string `json:"templateID"`
				Timeout    int    `json:"timeout"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				refuse(w, http.StatusBadRequest, "reading the body: "+err.Error())
				return
			}
			refuse(w, http.StatusNotImplemented, "this server makes no sandboxes")
		case strings.HasPrefix(r.URL.Path, "/sandboxes/") || strings.HasPrefix(r.URL.Path, "/v2/sandboxes/"):
			refuse(w, http.StatusNotFound, "no such sandbox")
		default:
			refuse(w, http.StatusNotFound, "no route "+r.URL.Path)
		}
	})
}

// harnessEnv is this process's environment with the three connection
// variables set to url and key (left out when empty).
func harnessEnv(url, key string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "E2B_") {
			env = append(env, kv)
		}
	}
	if url != "" {
		env = append(env, "E2B_API_URL="+url, "E2B_SANDBOX_URL="+url, "E2B_API_KEY="+key)
	}
	return env
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestParseExports reads the forms a shell's export lines take.
func TestParseExports(t *testing.T) {
	out := "# paste these\nexport E2B_API_URL=http://127.0.0.1:7778\nexport E2B_SANDBOX_URL='http://127.0.0.1:7778'\nexport E2B_API_KEY=\"e2b_k\\\"ey\"\n"
	got, err := parseExports(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"E2B_API_URL": "http://127.0.0.1:7778", "E2B_SANDBOX_URL": "http://127.0.0.1:7778", "E2B_API_KEY": `e2b_k"ey`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %q)", k, got[k], v, got)
		}
	}
	if _, err := parseExports("E2B_API_URL=x\n"); err == nil {
		t.Error("a line without export was taken")
	}
}
