// Package agentproto is the wire protocol between bangerd (the host) and
// banger-vsock-agent (the guest).
//
// # Transport
//
// The protocol runs over one byte stream per host connection: a
// virtio-serial port, a Firecracker hybrid-vsock connection or an AF_VSOCK
// connection to guest port [VsockPort]. The host always speaks first; the
// guest only ever answers, or sends on a channel the host opened, so a
// stream that loses bytes while nobody is listening (virtio-serial does)
// costs at most what nobody was waiting for any more.
//
// # Framing
//
// Each message is one JSON object on one line, ended by "\n", at most
// [MaxLine] bytes. Both sides ignore empty lines, so either side may send a
// lone "\n" to end whatever half line a previous connection left behind
// before it starts; the host does so on every new connection.
//
// # Requests and responses
//
// The host sends a [Request]: {"v":1,"id":7,"op":"hello"}. The guest
// answers each request, in order, with a [Response] that echoes v and id:
// {"v":1,"id":7,"ok":true,"hello":{...}}. A response whose id the host did
// not just ask for is stale (from a connection before this one) and is
// skipped, and so is a line that does not parse: that is how the host
// resynchronises on a stream it cannot trust to start clean. The host picks
// ids so that they do not repeat across its connections.
//
// An answer with "ok":false carries a Code and a human-readable Error. An
// unknown op, a malformed line or a version the guest does not speak gets
// such an answer; the connection stays usable.
//
// # Ops in version 1
//
//   - hello: who the guest is ([Hello]); the first request of a connection.
//   - status: the guest's state right now ([Status]), ready or not.
//   - wait-ready: like status, but answered only once the guest is ready,
//     or after timeout_ms with ok false, code not-ready, and the status
//     whose Reason says what is still missing.
//   - shutdown: answered, then the guest powers off.
//   - identify: makes a guest restored from a saved template its own
//     machine ([Identity]: clock, entropy, machine id, boot id, hostname,
//     MAC and address, work disk, fresh ssh host keys), then answers like
//     wait-ready. A guest answers it once per boot.
//   - stats: the guest's memory, load, uptime and filesystem use
//     ([Stats]); added after the others, so older agents answer
//     unknown-op.
//
// # Version 2: streams
//
// A host that wants to run commands sends a hello at version 2 naming the
// feature [FeatureStreams]: {"v":2,"id":8,"op":"hello","features":["streams"]}.
// A guest that grants it lists it in the answer's Features, and from the
// line after that answer on the connection is multiplexed:
//
//   - the host may send requests without waiting for answers, and the
//     guest answers each when it is done, in any order;
//   - exec, session-attach, session-logs, copy-in and copy-out open a
//     channel whose id is the request's id. Its [Frame] lines carry "ch"
//     and flow both ways: standard input, output and error as base64,
//     window sizes, signals, flow-control credit, and at the end the exit
//     status;
//   - each side may send [InitialCredit] bytes of data on a channel before
//     the other grants more, so a slow reader holds up only its own
//     channel, never the connection.
//
// The framing stays one JSON object per line, so a guest that finds a
// hello in the middle of a multiplexed connection knows a new host took
// the stream over (a virtio-serial port does not always show the old one
// leaving): it ends the old host's channels and answers the hello afresh.
// A channel the host abandons, or loses with its connection, hangs up an
// exec's process, unless the exec asked to keep it (see below); sessions
// belong to the guest and outlive both.
//
// A version 1 guest answers a version 2 hello with unsupported-version,
// and the host carries on in version 1 on the same connection.
//
// # Version 2 additions
//
// Later agents answer more ops on a multiplexed connection; an earlier one
// answers them with unknown-op, which the host reports as an agent too
// old for what was asked. The hello does not change.
//
//   - exec's answer carries the started process's pid (Response.PID).
//
//   - copy-in and copy-out (copy.go) carry a tar stream on a channel.
//
//   - The file operations (fs.go): fs-stat, fs-mkdir, fs-move and
//     fs-remove are answered at once; fs-list, fs-read, fs-write and
//     fs-watch open a channel. A channel's structured output (fs-list's
//     entries, fs-write's result, fs-watch's events) is JSON lines in
//     its Out bytes, so it is flow-controlled like any output; fs-read's
//     output and fs-write's input are the file's bytes. Such a channel
//     ends like a copy's, with exit status 0 or a Copy code after a
//     message on Err; fs-watch's ends when the host ends it.
//
//   - fs-write's mode and time: a host that asks, in its hello, for the
//     feature [FeatureWriteAttrs] besides streams, and is granted it, may
//     set Request.Mode and Request.Modified on fs-write (see fs.go). An
//     agent from before them grants streams alone, and would write the
//     file with the mode and time it always did; such a host must not
//     send them.
//
//   - Kept processes (streams.go): an exec whose ExecSpec.Keep is set
//     keeps its process when its channel is lost with the connection or
//     abandoned by the host. Until a host attaches again, its standard
//     output and error (or terminal output) go to buffers of 1 MiB each
//     that drop their oldest bytes, and the first output sent after a
//     drop is a line saying how many bytes were lost; its exit status is
//     kept until a host collects it (the 32 latest ended processes are
//     kept, older ones forgotten). exec-list answers the kept processes
//     ([ProcessInfo]); exec-attach {"pid":N} opens a channel onto one,
//     which works as exec's: the buffered output, then the live output,
//     input, end of input, window sizes and signals, and the Exit frame
//     when the process ends (at once if it has; that collects it, and the
//     process is forgotten). One channel at a time follows a process: a
//     new attach takes it over and the old channel ends with End. An
//     unknown pid answers not-found. An agent from before them ignores
//     Keep, and hangs such a process up like any other.
//
// The file operations take guest paths that are absolute, or relative to
// root's home /root; "~" and "~/x" mean /root and /root/x. An empty path,
// or one with a NUL byte, is a bad request. Their failures carry the codes
// not-found, exists, bad-request (a file where a directory must be, or the
// other way round) and precondition (no space, no permission).
package agentproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the highest protocol version this build speaks.
const Version = 2

// VsockPort is the AF_VSOCK port the guest agent listens on.
const VsockPort = 52

// SerialPortName is the virtio-serial port name of the agent's channel: the
// guest sees it as /dev/virtio-ports/banger.agent.
const SerialPortName = "banger.agent"

// MaxLine is the longest line either side accepts, newline included.
const MaxLine = 64 << 10

// The ops of version 1; version 2 adds those in streams.go.
const (
	OpHello     = "hello"
	OpStatus    = "status"
	OpWaitReady = "wait-ready"
	OpShutdown  = "shutdown"
	OpIdentify  = "identify"
	// OpPrepareSnapshot comes before the host saves a running guest: the
	// agent flushes the guest's disks and lets the copies restored from the
	// snapshot take an identity of their own (see identify).
	OpPrepareSnapshot = "prepare-snapshot"
)

// Codes say why a response is not ok.
const (
	// CodeBadRequest: the line is not a valid request.
	CodeBadRequest = "bad-request"
	// CodeUnsupportedVersion: the request's v is newer than the guest's.
	CodeUnsupportedVersion = "unsupported-version"
	// CodeUnknownOp: the guest does not know the op.
	CodeUnknownOp = "unknown-op"
	// CodeNotReady: wait-ready timed out; Status.Reason says why.
	CodeNotReady = "not-ready"
	// CodeFailed: the op was understood but could not be carried out.
	CodeFailed = "failed"
)

// Request is one line from the host.
type Request struct {
	V  int    `json:"v"`
	ID uint64 `json:"id,omitempty"`
	Op string `json:"op"`
	// TimeoutMS bounds wait-ready, in milliseconds.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// Features, in a hello, asks for optional capabilities.
	Features []string `json:"features,omitempty"`
	// Identity is what identify gives the guest.
	Identity *Identity `json:"identity,omitempty"`

	// Exec is what exec and session-start run.
	Exec *ExecSpec `json:"exec,omitempty"`
	// Session names the session of the session ops.
	Session string `json:"session,omitempty"`
	// Signal is session-kill's signal ("TERM" when empty).
	Signal string `json:"signal,omitempty"`
	// Follow keeps session-logs sending until the session ends.
	Follow bool `json:"follow,omitempty"`
	// Path is the guest path of copy-in, copy-out and the file ops.
	Path string `json:"path,omitempty"`
	// To is where fs-move moves Path.
	To string `json:"to,omitempty"`
	// Depth is how many levels fs-list goes down; 0 means 1.
	Depth int `json:"depth,omitempty"`
	// Recursive has fs-watch watch the directories below Path too.
	Recursive bool `json:"recursive,omitempty"`
	// Mode and Modified are what fs-write gives the file it writes, on a
	// connection granted FeatureWriteAttrs (see fs.go).
	Mode     *uint32    `json:"mode,omitempty"`
	Modified *time.Time `json:"modified,omitempty"`
	// PID is the kept process exec-attach joins.
	PID int `json:"pid,omitempty"`
}

// Identity is what makes a guest restored from a template its own machine.
type Identity struct {
	Hostname string `json:"hostname"`
	// MAC is the interface's new hardware address.
	MAC string `json:"mac,omitempty"`
	// Address is the guest's address in CIDR form; empty for no network.
	Address string   `json:"address,omitempty"`
	Gateway string   `json:"gateway,omitempty"`
	DNS     []string `json:"dns,omitempty"`
	// TimeUnixNano is the host's wall clock when it sent the request.
	TimeUnixNano int64 `json:"time_unix_nano"`
	// Entropy seeds the guest's random number generator, which otherwise
	// goes on from the template's state like every other clone's.
	Entropy []byte `json:"entropy"`
	// WorkDevice is the block device to mount at /root.
	WorkDevice string `json:"work_device,omitempty"`
	// HostKey is the guest's new ssh host key, an ed25519 private key in
	// OpenSSH PEM form, made by the host so the guest need not spend its
	// time making one; empty: the guest makes its own.
	HostKey []byte `json:"host_key,omitempty"`
	// NoSSHWait answers once the identity is taken, without waiting for
	// sshd to listen again with the new host key (it reloads meanwhile):
	// for a caller that runs its commands through the agent.
	NoSSHWait bool `json:"no_ssh_wait,omitempty"`
}

// Timeout is TimeoutMS as a duration.
func (r Request) Timeout() time.Duration { return time.Duration(r.TimeoutMS) * time.Millisecond }

// Response is one line from the guest, answering the request with the same
// ID. Exactly one of Hello and Status is set on a successful hello, status
// or wait-ready; a not-ready wait-ready carries Status too.
type Response struct {
	V      int     `json:"v"`
	ID     uint64  `json:"id,omitempty"`
	OK     bool    `json:"ok"`
	Code   string  `json:"code,omitempty"`
	Error  string  `json:"error,omitempty"`
	Hello  *Hello  `json:"hello,omitempty"`
	Status *Status `json:"status,omitempty"`
	// Session answers session-start and session-kill; Sessions answers
	// session-list.
	Session  *SessionInfo  `json:"session,omitempty"`
	Sessions []SessionInfo `json:"sessions,omitempty"`
	// Stats answers stats.
	Stats *Stats `json:"stats,omitempty"`
	// PID is the process an exec started; 0 from agents before it.
	PID int `json:"pid,omitempty"`
	// File answers fs-stat, fs-move and fs-read.
	File *FileInfo `json:"file,omitempty"`
	// Created answers fs-mkdir: the directory did not exist.
	Created bool `json:"created,omitempty"`
	// Processes answers exec-list; Process answers exec-attach.
	Processes []ProcessInfo `json:"processes,omitempty"`
	Process   *ProcessInfo  `json:"process,omitempty"`
}

// Hello says who answers.
type Hello struct {
	// Agent is the agent's build version.
	Agent string `json:"agent"`
	// Protocol is the highest protocol version the agent speaks.
	Protocol int    `json:"protocol"`
	Hostname string `json:"hostname"`
	// BootID changes at every boot of the guest.
	BootID string `json:"boot_id"`
	// Features lists the optional capabilities granted; none in version 1.
	// FeatureStreams in version 2.
	Features []string `json:"features,omitempty"`
}

// Status is the guest's state as the agent sees it.
type Status struct {
	// Ready: the guest can be used. With sshd in the image that means its
	// ed25519 host key exists and something accepts TCP on port 22; without
	// sshd, that the agent answers.
	Ready bool `json:"ready"`
	// SSH: the image has sshd.
	SSH      bool   `json:"ssh"`
	Hostname string `json:"hostname"`
	// Addresses are the guest's addresses in CIDR form, loopback and
	// link-local ones left out.
	Addresses []string `json:"addresses"`
	// HostKeys are the public SSH host keys, one authorized_keys line each.
	HostKeys []string `json:"host_keys"`
	// Uptime is seconds since the guest booted.
	Uptime float64 `json:"uptime"`
	// Reason says why the guest is not ready; empty when it is.
	Reason string `json:"reason,omitempty"`
}

// ParseRequest decodes one request line and checks it is one this build
// can answer. It always returns the request as far as it was decoded, so
// the answer can echo its id; the error says what is wrong with it, and
// ErrorCode gives its code.
func ParseRequest(line []byte) (Request, error) {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return req, &Error{Code: CodeBadRequest, Msg: fmt.Sprintf("not a JSON request: %v", err)}
	}
	switch {
	case req.V <= 0:
		return req, &Error{Code: CodeBadRequest, Msg: `missing protocol version "v"`}
	case req.V > Version:
		return req, &Error{Code: CodeUnsupportedVersion, Msg: fmt.Sprintf("protocol version %d is not supported: this agent speaks up to %d; update the guest image", req.V, Version)}
	case req.Op == "":
		return req, &Error{Code: CodeBadRequest, Msg: `missing "op"`}
	case req.TimeoutMS < 0:
		return req, &Error{Code: CodeBadRequest, Msg: "negative timeout_ms"}
	}
	return req, nil
}

// Error is a failure with a protocol code.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// ErrorCode is err's protocol code, or CodeFailed when it has none.
func ErrorCode(err error) string {
	if pe, ok := errors.AsType[*Error](err); ok {
		return pe.Code
	}
	return CodeFailed
}
