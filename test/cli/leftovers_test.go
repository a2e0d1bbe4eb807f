package cli_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Bounds of stopLeftovers: how long processes get to exit on SIGTERM, and
// then on SIGKILL.
const (
	leftoverTermWait = 10 * time.Second
	leftoverKillWait = 5 * time.Second
)

// stopLeftovers ends every process a script left running: each one whose
// environment names the script's own runtime dir. That is every daemon
// the script started, also one that has not written its pid file yet: the
// loser of a start race whose CLI already returned (another daemon
// answered) can reach the lock only after the winner exits, and would
// then serve on long after the test. Each gets SIGTERM, and SIGKILL if it
// is still there after leftoverTermWait.
func stopLeftovers(runtimeDir string) {
	termed := map[int]bool{}
	killAt := time.Now().Add(leftoverTermWait)
	for giveUp := killAt.Add(leftoverKillWait); time.Now().Before(giveUp); time.Sleep(10 * time.Millisecond) {
		pids := processesWithEnv("XDG_RUNTIME_DIR=" + runtimeDir)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			switch {
			case time.Now().After(killAt):
				_ = syscall.Kill(pid, syscall.SIGKILL)
			case !termed[pid]:
				termed[pid] = true
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	}
}

// processesWithEnv lists the live processes (other than this one) whose
// environment holds the entry kv. Exited processes not yet reaped show no
// environment, so they are not listed.
func processesWithEnv(kv string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, entry := range bytes.Split(env, []byte{0}) {
			if string(entry) == kv {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// TestStopLeftoversEndsDaemonsWithoutPIDFile: a process of a script that
// wrote no pid file (a daemon still starting) is ended too, and only it.
func TestStopLeftoversEndsDaemonsWithoutPIDFile(t *testing.T) {
	runtimeDir := t.TempDir()
	start := func(dir string) *exec.Cmd {
		cmd := exec.Command("sleep", "300")
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	late, other := start(runtimeDir), start(t.TempDir())
	t.Cleanup(func() { _ = other.Process.Kill(); _, _ = other.Process.Wait() })
	exited := make(chan error, 1)
	go func() { exited <- late.Wait() }()

	stopLeftovers(runtimeDir)
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
			t.Errorf("the script's process ended with %v, want SIGTERM", err)
		}
	case <-time.After(leftoverTermWait):
		t.Fatal("the script's process outlived stopLeftovers")
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("another script's process was ended too: %v", err)
	}
}
