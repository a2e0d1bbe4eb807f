package agentproto

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// FeatureStreams is the version 2 feature that turns a connection into a
// multiplexed one: requests may be answered out of order, and channels
// carry the byte streams of commands. See the package documentation.
const FeatureStreams = "streams"

// The ops that need FeatureStreams. Each but session-start, session-list
// and session-kill opens a channel whose id is the request's id.
const (
	// exec runs Request.Exec; the channel carries its standard streams and
	// ends with its exit status.
	OpExec = "exec"
	// session-start starts Request.Exec as the session Request.Session.
	OpSessionStart = "session-start"
	// session-list answers Response.Sessions.
	OpSessionList = "session-list"
	// session-attach joins a session's terminal or standard streams.
	OpSessionAttach = "session-attach"
	// session-logs sends a session's kept output, then, with Follow, what
	// it writes until it ends.
	OpSessionLogs = "session-logs"
	// session-kill signals a running session, or forgets an ended one.
	OpSessionKill = "session-kill"
)

// More codes, for the ops above.
const (
	// CodeNotFound: no session of that name.
	CodeNotFound = "not-found"
	// CodeExists: a running session already has that name.
	CodeExists = "exists"
)

// Flow control. Each side of a channel may send InitialCredit bytes of
// data (In, Out and Err together) before the other grants more with a
// Credit frame, and no data frame carries more than MaxChunk bytes, which
// keeps a base64-encoded frame well under MaxLine.
const (
	InitialCredit = 256 << 10
	MaxChunk      = 32 << 10
)

// Frame is one line of a channel, in either direction. Ch is the id of the
// request that opened the channel; a line with a Ch is a frame, any other
// line a request or a response.
type Frame struct {
	Ch uint64 `json:"ch"`
	// In: host to guest, bytes for the standard input (or terminal).
	In []byte `json:"in,omitempty"`
	// Out and Err: guest to host, the process's output; a terminal's
	// output is all Out.
	Out []byte `json:"out,omitempty"`
	Err []byte `json:"err,omitempty"`
	// EOF: host to guest, the standard input ended.
	EOF bool `json:"eof,omitempty"`
	// Credit: the receiver of data grants the sender this many more bytes.
	Credit int64 `json:"credit,omitempty"`
	// Size: host to guest, the terminal's new size.
	Size *WindowSize `json:"size,omitempty"`
	// Sig: host to guest, a signal for the process group ("INT", "TERM").
	Sig string `json:"sig,omitempty"`
	// Exit: guest to host, the process ended; the channel's last frame.
	Exit *ExitStatus `json:"exit,omitempty"`
	// End: the channel is over. From the host: it is abandoned (an exec's
	// process is hung up, an attach detaches). From the guest: it ended
	// without an exit status, for the reason in Why when that is a failure.
	End bool   `json:"end,omitempty"`
	Why string `json:"why,omitempty"`
}

// DataLen is the number of flow-controlled bytes f carries.
func (f Frame) DataLen() int64 { return int64(len(f.In) + len(f.Out) + len(f.Err)) }

// WindowSize is a terminal's size in characters.
type WindowSize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// ExecSpec says what to run, for exec and session-start.
type ExecSpec struct {
	// Argv is the command; empty runs root's login shell.
	Argv []string `json:"argv,omitempty"`
	// Env adds KEY=VALUE entries to the default environment.
	Env []string `json:"env,omitempty"`
	// Dir is the working directory; "" means /root.
	Dir string `json:"dir,omitempty"`
	// TTY runs the command on a new terminal of Size, with TERM set to Term.
	TTY  bool        `json:"tty,omitempty"`
	Size *WindowSize `json:"size,omitempty"`
	Term string      `json:"term,omitempty"`
	// Keep, on exec, has the agent keep the process when its channel is
	// lost or abandoned instead of hanging it up: its output waits in
	// bounded buffers and its exit status until exec-attach collects it.
	Keep bool `json:"keep,omitempty"`
	// Tag is the host's name for a kept process, which exec-list reports.
	Tag string `json:"tag,omitempty"`
}

// loginShellScript is the /bin/sh script of LoginShellArgv.
const loginShellScript = `exec "${SHELL:-/bin/sh}" -c "$1"`

// LoginShellArgv is the Argv that runs script in root's login shell with
// -c, as sshd runs a command: /bin/sh hands it to $SHELL, which the agent
// sets to that shell. An agent that knows the form runs $SHELL at once,
// sparing a /bin/sh (see LoginShellScript); older ones run it as it is.
func LoginShellArgv(script string) []string {
	return []string{"/bin/sh", "-c", loginShellScript, "sh", script}
}

// LoginShellScript is the script of an argv of LoginShellArgv's form,
// and whether argv has that form.
func LoginShellScript(argv []string) (string, bool) {
	if len(argv) != 5 || argv[0] != "/bin/sh" || argv[1] != "-c" || argv[2] != loginShellScript || argv[3] != "sh" {
		return "", false
	}
	return argv[4], true
}

// The ops of kept processes (ExecSpec.Keep), which need FeatureStreams;
// agents from before them answer CodeUnknownOp.
const (
	// exec-list answers Response.Processes: the kept processes, running
	// or ended and not yet collected.
	OpExecList = "exec-list"
	// exec-attach opens a channel onto the kept process Request.PID, as
	// exec's own: first the output kept while nobody was attached, then
	// what it writes, and its exit status (at once when it has ended,
	// which collects it). A new attach takes the process over, ending
	// the old channel with End.
	OpExecAttach = "exec-attach"
)

// ProcessInfo describes one kept process.
type ProcessInfo struct {
	PID  int      `json:"pid"`
	Argv []string `json:"argv"`
	Dir  string   `json:"dir,omitempty"`
	TTY  bool     `json:"tty,omitempty"`
	Tag  string   `json:"tag,omitempty"`
	// Running is false once the process ended; Exit then says how.
	Running bool        `json:"running"`
	Exit    *ExitStatus `json:"exit,omitempty"`
	// Attached: a host channel follows the process now.
	Attached bool      `json:"attached,omitempty"`
	Started  time.Time `json:"started"`
}

// ExitStatus is how a process ended: its exit code, or the signal that
// killed it.
type ExitStatus struct {
	Code   int `json:"code"`
	Signal int `json:"signal,omitempty"`
}

// Status is the status a shell would report: the code, or 128 plus the
// signal's number.
func (e ExitStatus) Status() int {
	if e.Signal > 0 {
		return 128 + e.Signal
	}
	return e.Code
}

// String says how the process ended, for people.
func (e ExitStatus) String() string {
	if e.Signal > 0 {
		name := unix.SignalName(unix.Signal(e.Signal))
		if name == "" {
			name = "signal " + strconv.Itoa(e.Signal)
		}
		return "killed by " + name
	}
	return "exit " + strconv.Itoa(e.Code)
}

// SessionInfo describes one session.
type SessionInfo struct {
	Name    string      `json:"name"`
	Argv    []string    `json:"argv"`
	TTY     bool        `json:"tty,omitempty"`
	PID     int         `json:"pid,omitempty"`
	Running bool        `json:"running"`
	Exit    *ExitStatus `json:"exit,omitempty"`
	Started time.Time   `json:"started"`
	Ended   time.Time   `json:"ended,omitzero"`
	// Log is the file in the guest that keeps the session's output.
	Log string `json:"log,omitempty"`
}

// MaxSessionName is the longest session name.
const MaxSessionName = 63

// ValidateSessionName checks a session name: 1 to 63 letters, digits, '.',
// '_' and '-', starting with a letter or digit. The name is also the log
// file's name, so nothing else is allowed.
func ValidateSessionName(name string) error {
	if name == "" {
		return &Error{Code: CodeBadRequest, Msg: "session name is empty"}
	}
	if len(name) > MaxSessionName {
		return &Error{Code: CodeBadRequest, Msg: fmt.Sprintf("session name %q is longer than %d characters", name, MaxSessionName)}
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return &Error{Code: CodeBadRequest, Msg: fmt.Sprintf("session name %q has %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name, string(c))}
		}
	}
	return nil
}

// ParseSignal turns "TERM", "SIGTERM", "term" or "15" into a signal.
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, &Error{Code: CodeBadRequest, Msg: fmt.Sprintf("signal %d is out of range", n)}
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, &Error{Code: CodeBadRequest, Msg: fmt.Sprintf("unknown signal %q: use a name such as TERM, INT, KILL or HUP, or a number", s)}
}
