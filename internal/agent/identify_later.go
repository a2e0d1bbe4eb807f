package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// laterSteps are identity steps that need not hold up the answer, such as
// making a daemon read what an earlier step wrote. They run once the
// answer is on its way, at the lowest CPU priority, so that the host's
// first commands come first on a guest with one CPU.
type laterSteps struct {
	mu    sync.Mutex
	steps []identityStep
}

func (l *laterSteps) add(st identityStep) {
	l.mu.Lock()
	l.steps = append(l.steps, st)
	l.mu.Unlock()
}

// start runs the steps, each on its own, recording their times in
// identifyLog and logging failures: no one waits for them.
func (l *laterSteps) start(times *stepTimes) {
	l.mu.Lock()
	steps := l.steps
	l.mu.Unlock()
	for _, st := range steps {
		go func() {
			st.name += ", after the answer"
			if err := times.timed(st); err != nil {
				slog.Error("identify", "step", st.name, "err", err)
			}
			times.write()
		}()
	}
}

// niced runs fn with the processes pids at the lowest CPU priority,
// putting their priority back after.
func niced(pids []int, fn func() error) error {
	for _, pid := range pids {
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, pid)
		if err != nil || unix.Setpriority(unix.PRIO_PROCESS, pid, 19) != nil {
			continue
		}
		defer unix.Setpriority(unix.PRIO_PROCESS, pid, 20-prio) // the syscall gives 20 - nice
	}
	return fn()
}

// pidsNamed are the processes whose command name (/proc/PID/comm, at
// most 15 bytes) is comm.
func pidsNamed(comm string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	var out []int
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) != comm {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// syncRoot makes lasting, with one flush, the files the identity steps
// wrote with atomicfile.WriteFileLater: all are on the root filesystem
// (an overlay syncs its upper layer).
func syncRoot() error {
	f, err := os.Open("/")
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// quietly is fn run with ctx's values but no cancellation, for a later
// step that outlives the request.
func quietly(ctx context.Context, fn func(context.Context) error) func() error {
	return func() error { return fn(context.WithoutCancel(ctx)) }
}
