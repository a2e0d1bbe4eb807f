package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/version"
)

// workspaceGuest serves a stand-in bangerd with one running VM, box,
// whose workspace is /root/repo, and whose guest answers each part of an
// export (base, commits, diff) with parts[part] and status 0.
func workspaceGuest(t *testing.T, ws *api.WorkspaceCopy, parts map[string][]byte) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.Prefix+"/vms/box", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(api.VersionHeader, version.Version)
		json.NewEncoder(w).Encode(api.VM{Name: "box", State: "running", Workspace: ws})
	})
	mux.HandleFunc("POST "+api.Prefix+"/vms/box/exec", func(w http.ResponseWriter, r *http.Request) {
		var req api.ExecRequest
		json.NewDecoder(r.Body).Decode(&req)
		conn, fw, ok := upgradeStandIn(w)
		if !ok {
			return
		}
		defer conn.Close()
		if req.Dir != "/root/repo" || len(req.Command) != 5 {
			fw.Write(api.FrameStderr, []byte("unexpected request"))
			fw.Write(api.FrameExit, mustJSON(api.ExitStatus{Code: 99}))
			return
		}
		out := parts[req.Command[4]]
		for len(out) > 0 {
			n := min(len(out), 32<<10)
			fw.Write(api.FrameStdout, out[:n])
			out = out[n:]
		}
		fw.Write(api.FrameExit, mustJSON(api.ExitStatus{Code: 0}))
	})
	serveStandIn(t, mux)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func runCLI(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func TestWorkspaceExportWritesTheGuestsPatch(t *testing.T) {
	hermetic(t)
	commits := []byte("From 1234 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x\n\n---\ndiff --git a/a b/a\n")
	diff := []byte("diff --git a/b b/b\n\x1b]0;not for a terminal\x07\n")
	workspaceGuest(t, &api.WorkspaceCopy{Top: t.TempDir(), Name: "repo"}, map[string][]byte{
		"base": []byte(strings.Repeat("a", 40) + "\n"), "commits": commits, "diff": diff,
	})
	file := filepath.Join(t.TempDir(), "box.patch")
	_, stderr, err := runCLI("vm", "workspace", "export", "box", "-o", file)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	if !bytes.HasPrefix(got, commits) || !bytes.HasSuffix(got, diff) || !bytes.Contains(got, []byte("Subject: [PATCH] Uncommitted changes in VM box\n")) {
		t.Errorf("the patch file holds:\n%s", got)
	}
	if !strings.Contains(stderr, "the changes since aaaaaaaaaaaa") {
		t.Errorf("stderr = %q", stderr)
	}
	// Standard output gets the same bytes, as they are, but for the
	// uncommitted patch's date: the two exports may fall in different
	// seconds.
	stdout, _, err := runCLI("vm", "workspace", "export", "box")
	if undated := patchDate.ReplaceAllString; err != nil || undated(stdout, "Date: -") != undated(string(got), "Date: -") {
		t.Errorf("export to stdout: %v\n%q\nwant\n%q", err, stdout, got)
	}
}

// patchDate matches a patch's Date header.
var patchDate = regexp.MustCompile(`(?m)^Date: .*$`)

func TestWorkspaceExportBoundsWhatTheGuestSends(t *testing.T) {
	hermetic(t)
	old := maxPatch
	maxPatch = 1 << 20
	t.Cleanup(func() { maxPatch = old })
	workspaceGuest(t, &api.WorkspaceCopy{Top: t.TempDir(), Name: "repo"}, map[string][]byte{
		"base": []byte(strings.Repeat("a", 40) + "\n"), "commits": bytes.Repeat([]byte("x"), 2<<20),
	})
	file := filepath.Join(t.TempDir(), "box.patch")
	_, _, err := runCLI("vm", "workspace", "export", "box", "-o", file)
	if err == nil || !strings.Contains(err.Error(), "a patch of more than 1 MiB") {
		t.Errorf("got %v; want the patch refused as too big", err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("a refused export wrote its file")
	}
}

func TestWorkspaceSyncDryRunListsTheWorkingTree(t *testing.T) {
	hermetic(t)
	requireGitBinary(t)
	repo := filepath.Join(t.TempDir(), "repo")
	for _, args := range [][]string{{"init", "-q", repo}} {
		if out, err := gitCmd(t.TempDir(), args...).CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v: %s", args, err, out)
		}
	}
	os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("*.log\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "main.go"), []byte("package main\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "debug.log"), []byte("ignored\n"), 0o644)
	workspaceGuest(t, &api.WorkspaceCopy{Top: repo, Name: "repo"}, nil)
	stdout, stderr, err := runCLI("vm", "workspace", "sync", "--dry-run", "box")
	if err != nil || stdout != ".gitignore\nmain.go\n" || !strings.Contains(stderr, "would copy 2 files") {
		t.Errorf("sync --dry-run: %v\nstdout %q\nstderr %q", err, stdout, stderr)
	}
}

func TestWorkspaceCommandsNeedAWorkspace(t *testing.T) {
	hermetic(t)
	workspaceGuest(t, nil, nil)
	for _, verb := range []string{"export", "sync"} {
		_, _, err := runCLI("vm", "workspace", verb, "box")
		if err == nil || !strings.Contains(err.Error(), "VM box has no workspace") {
			t.Errorf("vm workspace %s of a VM without one: %v", verb, err)
		}
	}
}

func requireGitBinary(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

func gitCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null")
	return cmd
}

func TestIsCommitID(t *testing.T) {
	sha1, sha256 := strings.Repeat("ab12", 10), strings.Repeat("0f", 32)
	for s, want := range map[string]bool{
		sha1: true, sha256: true,
		"": false, sha1[:39]: false, sha1 + "0": false, strings.ToUpper(sha1): false,
		sha1[:39] + "g": false, sha1[:39] + "\n": false, sha256 + sha1: false,
	} {
		if got := isCommitID(s); got != want {
			t.Errorf("isCommitID(%q) = %v, want %v", s, got, want)
		}
	}
}
