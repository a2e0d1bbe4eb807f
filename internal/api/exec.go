package api

import "time"

// ExecRequest asks to run a command in a VM through its guest agent
// (POST /v1/vms/{name}/exec, upgraded to a stream; see UpgradeProtocol).
type ExecRequest struct {
	// Command is the argv to run; empty runs root's login shell.
	Command []string `json:"command,omitempty"`
	// Env adds KEY=VALUE entries to the command's environment.
	Env []string `json:"env,omitempty"`
	// Dir is the working directory; empty means /root.
	Dir string `json:"dir,omitempty"`
	// TTY runs the command on a terminal of Rows x Cols, with TERM = Term.
	TTY  bool   `json:"tty,omitempty"`
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
	Term string `json:"term,omitempty"`
}

// StartSessionRequest starts a session (POST /v1/vms/{name}/sessions).
type StartSessionRequest struct {
	// Name is the session's name; empty lets the guest name it after the
	// command.
	Name string `json:"name,omitempty"`
	ExecRequest
}

// AttachRequest joins a session (POST
// /v1/vms/{name}/sessions/{session}/attach, upgraded to a stream). Rows
// and Cols, when set, resize a session's terminal to the client's.
type AttachRequest struct {
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
}

// KillSessionRequest signals a session (POST
// /v1/vms/{name}/sessions/{session}/kill); an ended one is forgotten.
type KillSessionRequest struct {
	// Signal is a name ("TERM", "KILL") or number; empty means TERM.
	Signal string `json:"signal,omitempty"`
}

// ExitStatus is how a command ended.
type ExitStatus struct {
	// Code is the exit code, or 128 + the signal's number when a signal
	// killed it, as shells report it.
	Code int `json:"code"`
	// Signal is the signal that killed it ("TERM"), if one did.
	Signal string `json:"signal,omitempty"`
}

// Session states.
const (
	SessionRunning = "running"
	SessionExited  = "exited"
)

// Session is a named long-lived process inside a VM, held by the VM's
// guest agent: it outlives its client and bangerd, not the VM.
type Session struct {
	VM      string      `json:"vm"`
	Name    string      `json:"name"`
	Command string      `json:"command"` // the argv, shell-quoted
	Argv    []string    `json:"argv"`
	State   string      `json:"state"` // SessionRunning or SessionExited
	TTY     bool        `json:"tty"`
	PID     int         `json:"pid,omitempty"`
	Exit    *ExitStatus `json:"exit,omitempty"`
	Started time.Time   `json:"started"`
	Ended   time.Time   `json:"ended,omitzero"`
	// Log is the file in the guest that keeps the session's output.
	Log string `json:"log,omitempty"`
}

// GuestInfo is what a running VM's guest agent reports
// (GET /v1/vms/{name}/guest).
type GuestInfo struct {
	Agent    string `json:"agent"`    // the agent's build version
	Protocol int    `json:"protocol"` // the highest protocol version it speaks
	// Exec: the agent runs commands and sessions (banger vm exec).
	Exec bool `json:"exec"`
	// Features are the agent's optional capabilities in use, such as
	// FeatureWriteAttrs.
	Features []string `json:"features,omitempty"`
	// SSH: the image has sshd; Ready: the guest can be used.
	SSH      bool    `json:"ssh"`
	Ready    bool    `json:"ready"`
	Hostname string  `json:"hostname"`
	Uptime   float64 `json:"uptime_seconds"`
}
