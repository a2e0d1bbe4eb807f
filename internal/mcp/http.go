package mcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"banger/internal/localpeer"
)

// Path is where the HTTP mode serves MCP.
const Path = "/mcp"

// Handler serves MCP over streamable HTTP at Path, behind the web UI's
// caller checks (see guard), ending sessions idle for
// Options.IdleTimeout. addr is where it listens.
func (s *Server) Handler(addr string) (http.Handler, error) {
	hosts, err := localpeer.NewHosts(addr)
	if err != nil {
		return nil, err
	}
	// A tool call in progress holds its request open, so a long run is
	// not idleness; a session whose client sends nothing more ends, and
	// its sandboxes go as on a DELETE.
	mcpH := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s.mcp }, &sdk.StreamableHTTPOptions{
		Logger: s.log, SessionTimeout: s.opts.IdleTimeout,
	})
	mux := http.NewServeMux()
	mux.Handle(Path, mcpH)
	peers := localpeer.Rules{Name: "banger MCP server", LogPrefix: "mcp", Log: s.log}
	return guard(hosts, peers, mux), nil
}

// guard refuses, before MCP sees it, a request whose Host is not this
// server's (DNS rebinding), whose connection is not this user's (another
// user, another machine; see localpeer.Rules), or that comes from a web
// page of another origin: the checks of the web UI.
func guard(hosts localpeer.Hosts, peers localpeer.Rules, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hosts.Allows(r.Host) {
			http.Error(w, fmt.Sprintf("host %q is not this server's address: connect to 127.0.0.1", r.Host), http.StatusMisdirectedRequest)
			return
		}
		if msg := peers.Refusal(r); msg != "" {
			http.Error(w, msg, http.StatusForbidden)
			return
		}
		if r.Header.Get("Origin") != "" || r.Method != http.MethodGet {
			if msg := localpeer.CrossOrigin(r, "MCP clients"); msg != "" {
				http.Error(w, msg, http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves MCP on ln until ctx ends, then ends every session,
// deleting the sandboxes they made and did not keep.
func (s *Server) ServeHTTP(ctx context.Context, ln net.Listener) error {
	h, err := s.Handler(ln.Addr().String())
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: h, ConnContext: localpeer.ConnContext, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		hs.Close()
	})
	defer stop()
	err = hs.Serve(ln)
	s.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
