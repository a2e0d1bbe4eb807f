package agent

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
)

// keptEnded is how many ended sessions the agent remembers; older ones are
// forgotten first (their log files stay).
const keptEnded = 32

// sessionTable holds the guest's sessions: processes the agent started
// for the host that belong to no connection, so they outlive their client
// and bangerd alike.
type sessionTable struct {
	mu     sync.Mutex
	byName map[string]*session
	dir    string // where log files go; "" for none
	ring   int    // bytes of output kept in memory per session
	logMax int64  // size at which a log file is rotated
	log    *slog.Logger
}

// session is one named process and its output.
type session struct {
	name    string
	proc    *process
	started time.Time
	out     *ring
	logPath string

	mu    sync.Mutex
	ended time.Time
	done  chan struct{} // closed once the process ended and its output is in
}

func (t *sessionTable) info(s *session) agentproto.SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := agentproto.SessionInfo{
		Name: s.name, Argv: s.proc.argv, TTY: s.proc.tty != nil, PID: s.proc.pid(),
		Started: s.started, Ended: s.ended, Log: s.logPath,
	}
	select {
	case <-s.done:
		st := s.proc.status
		info.Exit = &st
	default:
		info.Running = true
	}
	return info
}

func (s *session) running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// start runs spec as a new session. With no name, one is made from the
// command's name.
func (t *sessionTable) start(name string, spec agentproto.ExecSpec) (*session, error) {
	if name != "" {
		if err := agentproto.ValidateSessionName(name); err != nil {
			return nil, err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if name == "" {
		name = t.freeName(spec.Argv)
	} else if old := t.byName[name]; old != nil && old.running() {
		return nil, &agentproto.Error{Code: agentproto.CodeExists, Msg: fmt.Sprintf("session %s is already running: pick another name, or end it first", name)}
	}
	p, err := startProcess(spec, true)
	if err != nil {
		return nil, &agentproto.Error{Code: agentproto.CodeFailed, Msg: err.Error()}
	}
	s := &session{name: name, proc: p, started: time.Now().UTC(), out: newRing(t.ring), done: make(chan struct{})}
	w := t.openLog(s)
	go t.collect(s, w)
	t.byName[name] = s
	t.prune()
	return s, nil
}

// freeName is the command's base name, made a valid session name, with
// "-2", "-3"... added while a session has it.
func (t *sessionTable) freeName(argv []string) string {
	base := "shell"
	if len(argv) > 0 {
		base = sanitizeName(filepath.Base(argv[0]))
	}
	name := base
	for i := 2; t.byName[name] != nil; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	return name
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteRune(c)
		}
	}
	out := strings.TrimLeft(b.String(), "-_.")
	if len(out) > agentproto.MaxSessionName-4 {
		out = out[:agentproto.MaxSessionName-4]
	}
	if out == "" {
		return "session"
	}
	return out
}

// collect copies the session's output to its ring and log until the
// process ends, then records the end.
func (t *sessionTable) collect(s *session, w *rotatingLog) {
	copyOutput(s.proc.stdout, func(b []byte) {
		s.out.Write(b)
		w.Write(b)
	})
	<-s.proc.exited
	s.proc.close()
	w.Close()
	s.mu.Lock()
	s.ended = time.Now().UTC()
	s.mu.Unlock()
	close(s.done)
	s.out.Close()
	t.log.Info("session ended", "session", s.name, "status", s.proc.status.String())
}

// prune forgets the oldest ended sessions beyond keptEnded. The caller
// holds t.mu.
func (t *sessionTable) prune() {
	pruneEnded(t.byName, func(s *session) time.Time { return s.started })
}

// pruneEnded deletes from m its oldest entries that are no longer running,
// oldest by started, until keptEnded ended ones are left; running ones
// always stay.
func pruneEnded[K comparable, V interface{ running() bool }](m map[K]V, started func(V) time.Time) {
	var ended []K
	for k, v := range m {
		if !v.running() {
			ended = append(ended, k)
		}
	}
	if len(ended) <= keptEnded {
		return
	}
	slices.SortFunc(ended, func(a, b K) int { return started(m[a]).Compare(started(m[b])) })
	for _, k := range ended[:len(ended)-keptEnded] {
		delete(m, k)
	}
}

// describeOldestFirst describes m's entries, oldest by started first,
// reading m under mu.
func describeOldestFirst[K comparable, V, D any](mu *sync.Mutex, m map[K]V, started func(V) time.Time, describe func(V) D) []D {
	mu.Lock()
	all := make([]V, 0, len(m))
	for _, v := range m {
		all = append(all, v)
	}
	mu.Unlock()
	slices.SortFunc(all, func(a, b V) int { return started(a).Compare(started(b)) })
	out := make([]D, 0, len(all))
	for _, v := range all {
		out = append(out, describe(v))
	}
	return out
}

func (t *sessionTable) get(name string) (*session, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.byName[name]
	if s == nil {
		return nil, &agentproto.Error{Code: agentproto.CodeNotFound, Msg: fmt.Sprintf("no session %s in this guest", name)}
	}
	return s, nil
}

func (t *sessionTable) list() []agentproto.SessionInfo {
	return describeOldestFirst(&t.mu, t.byName, func(s *session) time.Time { return s.started }, t.info)
}

// kill signals a running session's process group; an ended session is
// forgotten instead.
func (t *sessionTable) kill(name, signal string) (agentproto.SessionInfo, error) {
	s, err := t.get(name)
	if err != nil {
		return agentproto.SessionInfo{}, err
	}
	if !s.running() {
		t.mu.Lock()
		if t.byName[name] == s {
			delete(t.byName, name)
		}
		t.mu.Unlock()
		return t.info(s), nil
	}
	sig := unix.SIGTERM
	if signal != "" {
		if sig, err = agentproto.ParseSignal(signal); err != nil {
			return agentproto.SessionInfo{}, err
		}
	}
	// The state from before the signal: a process that dies of it at once
	// must still read as signalled, not as one that had already ended.
	info := t.info(s)
	if err := s.proc.signal(sig); err != nil {
		return agentproto.SessionInfo{}, &agentproto.Error{Code: agentproto.CodeFailed, Msg: err.Error()}
	}
	return info, nil
}

// sessionOp answers session-start, session-list and session-kill.
func (s *Server) sessionOp(req agentproto.Request) agentproto.Response {
	var info agentproto.SessionInfo
	var err error
	switch req.Op {
	case agentproto.OpSessionList:
		return success(req, agentproto.Response{Sessions: s.sessions.list()})
	case agentproto.OpSessionStart:
		if req.Exec == nil {
			return failure(req, agentproto.CodeBadRequest, "session-start without a command")
		}
		var sess *session
		var spec agentproto.ExecSpec
		if spec, err = s.command(*req.Exec); err != nil {
			break
		}
		if sess, err = s.sessions.start(req.Session, spec); err == nil {
			info = s.sessions.info(sess)
			s.log.Info("session started", "session", info.Name, "pid", info.PID)
		}
	case agentproto.OpSessionKill:
		info, err = s.sessions.kill(req.Session, req.Signal)
	}
	if err != nil {
		return failure(req, agentproto.ErrorCode(err), err.Error())
	}
	return success(req, agentproto.Response{Session: &info})
}

// openLog starts the session's log file, keeping the previous one of that
// name as NAME.log.1. Without a usable directory the session just has no
// log file.
func (t *sessionTable) openLog(s *session) *rotatingLog {
	if t.dir == "" {
		return &rotatingLog{}
	}
	if err := os.MkdirAll(t.dir, 0o700); err != nil {
		t.log.Warn("session log directory", "err", err)
		return &rotatingLog{}
	}
	path := filepath.Join(t.dir, s.name+".log")
	w := &rotatingLog{path: path, max: t.logMax}
	if err := w.rotate(); err != nil {
		t.log.Warn("session log", "session", s.name, "err", err)
		return &rotatingLog{}
	}
	s.logPath = path
	return w
}

// rotatingLog appends to a file, moving it to PATH.1 when it reaches max
// bytes. It gives up quietly on errors: the ring still has the output.
type rotatingLog struct {
	path string
	max  int64
	f    *os.File
	n    int64
}

func (w *rotatingLog) rotate() error {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if err := os.Rename(w.path, w.path+".1"); err != nil && !os.IsNotExist(err) {
		return err
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	w.f, w.n = f, 0
	return nil
}

func (w *rotatingLog) Write(p []byte) {
	if w.f == nil {
		return
	}
	if w.max > 0 && w.n+int64(len(p)) > w.max {
		if w.rotate() != nil {
			return
		}
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		w.f.Close()
		w.f = nil
	}
}

func (w *rotatingLog) Close() {
	if w.f != nil {
		w.f.Close()
	}
}
