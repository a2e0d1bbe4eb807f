package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/guestabi"
)

// InitBanner is what the minimal init prints once the system is up.
const InitBanner = "banger-agent: minimal init running"

// mount is one filesystem the minimal init sets up.
type mount struct{ source, target, fstype string }

var initMounts = []mount{
	{"proc", "/proc", "proc"},
	{"sysfs", "/sys", "sysfs"},
	{"devtmpfs", "/dev", "devtmpfs"},
	{"devpts", "/dev/pts", "devpts"},
	{"tmpfs", "/run", "tmpfs"},
	{"tmpfs", "/tmp", "tmpfs"},
}

// RunInit is the agent as PID 1, for images that have no init of their
// own (OCI images, mostly): it mounts the kernel filesystems, runs the
// agent as its child (restarting it when it exits), reaps orphans and
// powers off on SIGTERM, SIGINT or SIGPWR. It returns only on error.
//
// The agent is a child rather than a part of PID 1 because PID 1 reaps
// every exited child it is handed: the commands the agent runs for the
// host must be the agent's own children, whose exit status it collects.
func RunInit(console io.Writer) error {
	if os.Getpid() != 1 {
		return errors.New("the minimal init runs only as PID 1")
	}
	for _, m := range initMounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			fmt.Fprintf(console, "banger-agent: creating %s: %v\n", m.target, err)
			continue
		}
		if err := unix.Mount(m.source, m.target, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			fmt.Fprintf(console, "banger-agent: mounting %s: %v\n", m.target, err)
		}
	}
	if os.Getenv("PATH") == "" {
		os.Setenv("PATH", defaultPath)
	}
	fmt.Fprintln(console, InitBanner)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGPWR)
	var restart <-chan time.Time
	agentPID := startAgentChild(console)
	if agentPID == 0 {
		restart = time.After(time.Second)
	}
	for {
		select {
		case sig := <-sigs:
			if sig != unix.SIGCHLD {
				unix.Sync()
				return unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
			}
			if reap(agentPID) {
				fmt.Fprintln(console, "banger-agent: the agent exited; restarting it")
				agentPID, restart = 0, time.After(time.Second)
			}
		case <-restart:
			if agentPID, restart = startAgentChild(console), nil; agentPID == 0 {
				restart = time.After(time.Second)
			}
		}
	}
}

// startAgentChild runs this binary again as the agent, with the console
// as its output, and returns its pid, or 0 when it could not start.
func startAgentChild(console io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	out := os.Stdout
	if f, ok := console.(*os.File); ok {
		out = f
	}
	p, err := os.StartProcess(self, []string{guestabi.AgentName}, &os.ProcAttr{
		Env:   os.Environ(),
		Files: []*os.File{nil, out, out},
	})
	if err != nil {
		fmt.Fprintf(console, "banger-agent: starting the agent: %v\n", err)
		return 0
	}
	pid := p.Pid
	p.Release() // reap collects it, as every other child
	return pid
}

// reap collects every exited child, so orphans do not pile up as zombies,
// and reports whether agentPID was among them.
func reap(agentPID int) bool {
	found := false
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return found
		}
		if pid == agentPID {
			found = true
		}
	}
}
