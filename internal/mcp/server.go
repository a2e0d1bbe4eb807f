// Package mcp serves banger's sandboxes to coding agents as Model Context
// Protocol tools: an agent creates a VM, runs commands in it, reads and
// writes its files, forks and snapshots it, and deletes it. It talks to
// bangerd through the API client only, as the CLI does. Each MCP session
// labels the VMs it makes with its own id and deletes them when it ends,
// unless the agent asked to keep them.
package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"banger/internal/api"
	"banger/internal/api/client"
)

// Limits bound what one tool call carries back to the agent.
const (
	// DefaultMaxOutput is the bytes of a command's stdout (and as many of
	// its stderr) a result keeps; the middle of longer output is cut.
	DefaultMaxOutput = 64 << 10
	// DefaultTimeout is a command's time limit when the call gives none;
	// MaxTimeout is the longest a call may ask for.
	DefaultTimeout = 10 * time.Minute
	MaxTimeout     = time.Hour
	// MaxReadBytes is the most of a file sandbox_read_file returns.
	MaxReadBytes = 1 << 20
	// MaxWriteBytes is the largest content sandbox_write_file takes.
	MaxWriteBytes = 8 << 20
)

// SessionLabel is the label key that marks the VMs an MCP session made;
// its value is the session's id.
const SessionLabel = "mcp.banger/session"

// Options are what a Server needs.
type Options struct {
	// Call runs fn against bangerd, starting it when it is not running.
	Call func(ctx context.Context, fn func(*client.Client) error) error
	// Defaults is a create request filled with the config's defaults:
	// image, size and network policy.
	Defaults func(ctx context.Context) (api.CreateVMRequest, error)
	// Version is banger's, reported to clients.
	Version string
	// IdleTimeout ends an HTTP session that sends no request for this
	// long, as if its client had ended it; 0 keeps idle sessions.
	IdleTimeout time.Duration
	// MaxOutput overrides DefaultMaxOutput (tests).
	MaxOutput int
	// Log receives the server's own events; nil drops them.
	Log *slog.Logger
}

// Server is banger's MCP server: one set of tools, any number of
// sessions, each with the sandboxes it made.
type Server struct {
	opts Options
	log  *slog.Logger
	mcp  *sdk.Server

	mu       sync.Mutex
	sessions map[*sdk.ServerSession]*session
	ending   sync.WaitGroup // a session's state, until it is cleaned up
	closed   bool
}

// New makes a server with every tool.
func New(o Options) *Server {
	if o.MaxOutput <= 0 {
		o.MaxOutput = DefaultMaxOutput
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: o, log: log, sessions: map[*sdk.ServerSession]*session{}}
	s.mcp = sdk.NewServer(&sdk.Implementation{Name: "banger", Title: "banger sandboxes", Version: o.Version}, &sdk.ServerOptions{
		Instructions: instructions,
		Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}},
	})
	s.addTools()
	return s
}

// instructions tell the agent how the tools fit together.
const instructions = `banger gives you disposable Linux microVMs ("sandboxes"). Make one with
sandbox_create (optionally copying a git repository of the host in as its
workspace), run commands in it with sandbox_run, move files with
sandbox_read_file / sandbox_write_file / sandbox_list_files, and bring the
workspace's changes back with sandbox_export_changes. Sandboxes you make are
deleted when this MCP session ends unless you created them with keep=true.`

// ServeStdio serves one session over r and w (standard input and output)
// until the client leaves or ctx ends, then deletes the session's
// sandboxes.
func (s *Server) ServeStdio(ctx context.Context, r io.ReadCloser, w io.WriteCloser) error {
	ss, err := s.connect(ctx, &sdk.IOTransport{Reader: r, Writer: w})
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ss.Close() })
	defer stop()
	err = ss.Wait()
	s.Close()
	if ctx.Err() != nil || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// connect starts a session over t.
func (s *Server) connect(ctx context.Context, t sdk.Transport) (*sdk.ServerSession, error) {
	ss, err := s.mcp.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("starting the MCP session: %w", err)
	}
	s.sessionOf(ss)
	return ss, nil
}

// sessionOf is ss's state, made on first use: a new session also gets a
// watcher that deletes its sandboxes when it ends. It is nil once the
// server is closed.
func (s *Server) sessionOf(ss *sdk.ServerSession) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if st, ok := s.sessions[ss]; ok {
		return st
	}
	st := newSession(s)
	s.sessions[ss] = st
	s.ending.Add(1)
	s.log.Info("mcp: session started", "session", st.id)
	go func() {
		ss.Wait()
		s.endSession(ss)
	}()
	return st
}

// endSession ends ss's state, unless Close did.
func (s *Server) endSession(ss *sdk.ServerSession) {
	s.mu.Lock()
	st, ok := s.sessions[ss]
	delete(s.sessions, ss)
	s.mu.Unlock()
	if ok {
		st.end()
		s.ending.Done()
	}
}

// Close ends every session, deleting the sandboxes they made and did
// not keep, and waits until every session that ended is cleaned up.
// The server serves nothing after.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for ss, st := range s.sessions {
		all = append(all, st)
		delete(s.sessions, ss)
	}
	s.mu.Unlock()
	for _, st := range all {
		go func() {
			st.end()
			s.ending.Done()
		}()
	}
	s.ending.Wait()
}

// call runs fn against bangerd.
func (s *Server) call(ctx context.Context, fn func(*client.Client) error) error {
	return s.opts.Call(ctx, fn)
}
