package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

// TestZeroClient checks that a zero Client finds the daemon's socket from
// the environment, and that its image and kernel calls reach it.
func TestZeroClient(t *testing.T) {
	run, err := os.MkdirTemp("", "banger-client")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	t.Setenv("XDG_RUNTIME_DIR", run)
	if err := os.Mkdir(filepath.Join(run, "banger"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(run, "banger", "bangerd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.Prefix+"/images", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode([]api.Image{{Name: "debian"}})
	})
	mux.HandleFunc("GET "+api.Prefix+"/kernels/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(api.ErrorResponse{Error: api.ErrorFrom(errdefs.NotFound("kernel %s not found", r.PathValue("name")))})
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	var c client.Client
	ims, err := c.Images().List(context.Background())
	if err != nil || len(ims) != 1 || ims[0].Name != "debian" {
		t.Errorf("Images().List = %+v, %v; want the one image the daemon has", ims, err)
	}
	if _, err := c.Kernels().Get(context.Background(), "nosuch"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Kernels().Get of a missing kernel = %v; want not found", err)
	}
}

// TestWarnGetsEachAnswersWarning: the daemon's warning header reaches
// Warn with every answer that carries it, an error's too.
func TestWarnGetsEachAnswersWarning(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(api.ConfigWarningHeader, "config.toml is invalid")
		if r.URL.Path == api.Prefix+"/vms/nosuch" {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(api.ErrorResponse{Error: api.ErrorFrom(errdefs.NotFound("vm nosuch not found"))})
			return
		}
		json.NewEncoder(w).Encode([]api.VM{})
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	var got []string
	c := client.Client{Socket: sock, Warn: func(s string) { got = append(got, s) }}
	ctx := context.Background()
	if _, err := c.ListVMs(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVM(ctx, "nosuch"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("GetVM(nosuch) = %v, want not found", err)
	}
	if len(got) != 2 || got[0] != "config.toml is invalid" || got[1] != got[0] {
		t.Errorf("Warn got %q, want the warning once per answer", got)
	}
}

// TestNoSocketIsNotRunning: with nothing at the socket's path, or its
// directory missing, the daemon is not running.
func TestNoSocketIsNotRunning(t *testing.T) {
	dir := t.TempDir()
	for _, sock := range []string{filepath.Join(dir, "bangerd.sock"), filepath.Join(dir, "gone", "bangerd.sock")} {
		c := client.Client{Socket: sock}
		if _, err := c.ListVMs(context.Background()); !errors.Is(err, client.ErrNotRunning) {
			t.Errorf("ListVMs with no %s = %v, want ErrNotRunning", sock, err)
		}
	}
}
