package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
)

// defaultPath is the PATH commands get: the agent's own may be empty (as
// PID 1) or a service manager's.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// drainGrace is how long output is still read after a process exits: a
// child it left running in the background may hold the pipes open.
const drainGrace = 2 * time.Second

// hangupGrace is how long a hung-up process gets before it is killed.
const hangupGrace = 3 * time.Second

// process is a command the agent started for the host, in its own session
// (so its whole process group can be signalled), on a terminal or on pipes.
type process struct {
	cmd  *exec.Cmd
	argv []string
	// tty is the terminal's master side; nil on pipes.
	tty *os.File
	// stdin is where input goes: the terminal, or a pipe to the process.
	stdin *os.File
	// stdout carries the terminal's output, or standard output (and
	// standard error with merged output); stderr is nil then.
	stdout, stderr *os.File
	exited         chan struct{} // closed once wait has the status
	status         agentproto.ExitStatus
}

// errNoCommand wraps a command that cannot be started, with the status a
// shell would give it (127 not found, 126 not executable).
type errNoCommand struct {
	status int
	err    error
}

func (e *errNoCommand) Error() string { return e.err.Error() }
func (e *errNoCommand) Unwrap() error { return e.err }

// startProcess runs spec. With mergeOutput, standard error goes to the
// same pipe as standard output. The caller reads the outputs and calls wait.
func startProcess(spec agentproto.ExecSpec, mergeOutput bool) (*process, error) {
	env := commandEnv(spec)
	argv, path, err := resolveCommand(spec.Argv, env)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Dir: workDir(spec.Dir)}
	p := &process{cmd: cmd, argv: argv, exited: make(chan struct{})}
	if spec.TTY {
		err = p.startTTY(spec.Size)
	} else {
		err = p.startPipes(mergeOutput)
	}
	if err != nil {
		return nil, startError(argv[0], err)
	}
	go p.wait()
	return p, nil
}

// startTTY starts the command on a new terminal, as its session leader.
func (p *process) startTTY(size *agentproto.WindowSize) error {
	ws := &pty.Winsize{Rows: 24, Cols: 80}
	if size != nil && size.Rows > 0 && size.Cols > 0 {
		ws = &pty.Winsize{Rows: size.Rows, Cols: size.Cols}
	}
	f, err := pty.StartWithSize(p.cmd, ws)
	if err != nil {
		return err
	}
	// pty hands the master over in blocking mode, where reads ignore
	// deadlines; a non-blocking copy goes through the runtime's poller.
	master, err := pollable(f)
	if err != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		return err
	}
	p.tty, p.stdin, p.stdout = master, master, master
	return nil
}

// pollable replaces f with a non-blocking duplicate, which honours
// deadlines, and closes f.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.Dup(int(fd)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	unix.CloseOnExec(nfd)
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, err
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

// startPipes starts the command in a new session without a terminal.
func (p *process) startPipes(mergeOutput bool) error {
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW)
		return err
	}
	errR, errW := outR, outW
	if !mergeOutput {
		if errR, errW, err = os.Pipe(); err != nil {
			closeAll(inR, inW, outR, outW)
			return err
		}
	}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = inR, outW, errW
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = p.cmd.Start()
	closeAll(inR, outW) // the child has its own copies now
	if !mergeOutput {
		closeAll(errW)
	}
	if err != nil {
		closeAll(inW, outR)
		if !mergeOutput {
			closeAll(errR)
		}
		return err
	}
	p.stdin, p.stdout = inW, outR
	if !mergeOutput {
		p.stderr = errR
	}
	return nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// startError turns a failed start into errNoCommand when the command is
// missing or cannot be run, as a shell reports it.
func startError(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &errNoCommand{127, fmt.Errorf("%s: command not found", name)}
	case errors.Is(err, fs.ErrPermission), errors.Is(err, unix.ENOEXEC):
		return &errNoCommand{126, fmt.Errorf("%s: cannot execute: %v", name, unwrapPathError(err))}
	}
	return fmt.Errorf("starting %s: %w", name, err)
}

func unwrapPathError(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// wait reaps the process and records how it ended.
func (p *process) wait() {
	_ = p.cmd.Wait() // how it ended is in ProcessState
	p.status = exitStatus(p.cmd.ProcessState)
	// Output still in the pipes is read at once; a background child that
	// holds them open gets drainGrace.
	deadline := time.Now().Add(drainGrace)
	for _, f := range []*os.File{p.stdout, p.stderr} {
		if f != nil {
			f.SetReadDeadline(deadline)
		}
	}
	close(p.exited)
}

// exitStatus is how a reaped process ended; 255 when it was not reaped.
func exitStatus(ps *os.ProcessState) agentproto.ExitStatus {
	if ps == nil {
		return agentproto.ExitStatus{Code: 255}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return agentproto.ExitStatus{Signal: int(ws.Signal())}
	}
	return agentproto.ExitStatus{Code: ps.ExitCode()}
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// signal sends sig to the process's whole group.
func (p *process) signal(sig unix.Signal) error {
	if err := unix.Kill(-p.pid(), sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signalling %s: %w", p.argv[0], err)
	}
	return nil
}

// resize sets the terminal's size; without a terminal it does nothing.
// (pty.Setsize would put the master back in blocking mode.)
func (p *process) resize(ws agentproto.WindowSize) {
	if p.tty == nil || ws.Rows == 0 || ws.Cols == 0 {
		return
	}
	rc, err := p.tty.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Rows, Col: ws.Cols})
	})
}

// endInput ends the standard input. On a terminal that is the end-of-file
// character a user would type.
func (p *process) endInput() {
	if p.tty != nil {
		_, _ = p.tty.Write([]byte{4})
		return
	}
	p.stdin.Close()
}

// hangup tells the process its client left, as closing a terminal does,
// and kills its group if it is still there after hangupGrace.
func (p *process) hangup() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.signal(unix.SIGHUP)
	_ = p.signal(unix.SIGCONT)
	t := time.NewTimer(hangupGrace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		_ = p.signal(unix.SIGKILL)
	}
}

// close releases the agent's ends of the pipes or terminal.
func (p *process) close() {
	for _, f := range []*os.File{p.stdin, p.stdout, p.stderr} {
		if f != nil {
			f.Close()
		}
	}
}

// copyOutput reads f until it ends (end of file, or EIO once a terminal
// has no process left on it, or the drain deadline) and hands each chunk
// to emit.
func copyOutput(f *os.File, emit func([]byte)) {
	buf := make([]byte, agentproto.MaxChunk)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			emit(buf[:n])
		}
		if err != nil {
			return
		}
	}
}
