package e2b

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestStart(t *testing.T) {
	if s := Start(Options{}); s != nil {
		t.Fatal("Start without an address made a server")
	}
	var off *Server
	if addr, failure := off.Status(); addr != "" || failure != "" {
		t.Errorf("a nil server's status: %q %q", addr, failure)
	}
	off.Serve(context.Background()) // returns at once
	dir := t.TempDir()
	opts := Options{KeyFile: filepath.Join(dir, "key"), StateDir: filepath.Join(dir, "e2b"), Log: slog.New(slog.DiscardHandler)}
	opts.Addr = "0.0.0.0:0"
	s := Start(opts)
	if _, failure := s.Status(); !strings.Contains(failure, "e2b_allow_remote = true") {
		t.Errorf("a remote address without e2b_allow_remote: %q", failure)
	}
	s.Serve(context.Background()) // off: returns at once
	opts.Addr = "127.0.0.1:0"
	s = Start(opts)
	addr, failure := s.Status()
	if failure != "" || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("loopback: %q %q", addr, failure)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	cancel()
	<-done
	if _, failure := s.Status(); failure != "" {
		t.Errorf("a clean stop recorded %q", failure)
	}
}
