package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// watchFor reads w's events until it has seen want in order (other events
// may come between), and returns all it read.
func watchFor(t *testing.T, w *agentclient.Watch, want ...agentproto.FSEvent) []agentproto.FSEvent {
	t.Helper()
	var got []agentproto.FSEvent
	timeout := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("the watch ended (%v) waiting for %+v; got %+v", w.Err(), want, got)
			}
			got = append(got, ev)
			if ev == want[0] {
				want = want[1:]
			}
		case <-timeout:
			t.Fatalf("no %+v; got %+v", want, got)
		}
	}
	return got
}

func ev(name, op string) agentproto.FSEvent { return agentproto.FSEvent{Name: name, Op: op} }

func watch(t *testing.T, m *agentclient.Mux, path string, recursive bool) *agentclient.Watch {
	t.Helper()
	w, err := m.WatchDir(testCtx(t), path, recursive)
	if err != nil {
		t.Fatalf("WatchDir %s: %v", path, err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestFSWatchReportsChanges(t *testing.T) {
	m, home := fsHost(t)
	w := watch(t, m, "~", false)
	f := filepath.Join(home, "f")
	writeFile(t, f, "x")
	os.Chmod(f, 0o600)
	os.Rename(f, filepath.Join(home, "g"))
	os.Remove(filepath.Join(home, "g"))
	watchFor(t, w, ev("f", "create"), ev("f", "write"), ev("f", "chmod"),
		ev("f", "rename"), ev("g", "create"), ev("g", "remove"))
}

func TestFSWatchNotRecursiveStaysAtTheTop(t *testing.T) {
	m, home := fsHost(t)
	w := watch(t, m, home, false)
	writeFile(t, filepath.Join(home, "sub", "inner"), "x")
	writeFile(t, filepath.Join(home, "marker"), "x")
	got := watchFor(t, w, ev("sub", "create"), ev("marker", "create"))
	if slices.ContainsFunc(got, func(e agentproto.FSEvent) bool { return e.Name == "sub/inner" }) {
		t.Errorf("a watch that is not recursive reported sub/inner: %+v", got)
	}
}

func TestFSWatchRecursiveFollowsNewDirectories(t *testing.T) {
	m, home := fsHost(t)
	writeFile(t, filepath.Join(home, "old", "x"), "x")
	w := watch(t, m, home, true)
	writeFile(t, filepath.Join(home, "old", "y"), "y")
	watchFor(t, w, ev("old/y", "create"))
	// Made all at once: the files below may come before their directory's
	// watch does, and are reported all the same.
	writeFile(t, filepath.Join(home, "new", "a", "b", "f"), "f")
	watchFor(t, w, ev("new", "create"), ev("new/a/b/f", "create"))
	writeFile(t, filepath.Join(home, "new", "a", "later"), "z")
	watchFor(t, w, ev("new/a/later", "create"))
	// A directory moved away is no longer watched under its old name.
	os.Rename(filepath.Join(home, "new"), filepath.Join(home, "moved"))
	writeFile(t, filepath.Join(home, "moved", "a", "after"), "z")
	watchFor(t, w, ev("new", "rename"), ev("moved", "create"), ev("moved/a/after", "create"))
}

func TestFSWatchEndsWhenTheDirectoryGoes(t *testing.T) {
	m, home := fsHost(t)
	dir := filepath.Join(home, "watched")
	os.Mkdir(dir, 0o755)
	w := watch(t, m, dir, true)
	os.RemoveAll(dir)
	for range w.Events() {
	}
	wantKind(t, "the watch of a removed directory", w.Err(), errdefs.KindNotFound, dir)
}

func TestFSWatchRefusals(t *testing.T) {
	m, home := fsHost(t)
	writeFile(t, filepath.Join(home, "file"), "x")
	_, err := m.WatchDir(testCtx(t), "file", false)
	wantKind(t, "WatchDir of a file", err, errdefs.KindInvalidArgument, "not a directory")
	_, err = m.WatchDir(testCtx(t), "missing", true)
	wantKind(t, "WatchDir of a missing directory", err, errdefs.KindNotFound, "missing")
}

func TestFSWatchCloseEndsIt(t *testing.T) {
	m, home := fsHost(t)
	w := watch(t, m, home, false)
	w.Close()
	if _, open := <-w.Events(); open {
		t.Errorf("events after Close")
	}
	if err := w.Err(); err != nil {
		t.Errorf("Err after Close = %v; want nil", err)
	}
	if _, err := m.Stat(testCtx(t), home); err != nil {
		t.Fatalf("after a closed watch: %v", err)
	}
}

// twoFiles opens two files with long names in dir: writes to them in
// turn make events the kernel cannot merge, cheaply.
func twoFiles(t *testing.T, dir string) (names [2]string, files [2]*os.File) {
	for i := range 2 {
		names[i] = fmt.Sprintf("%d-%s", i, strings.Repeat("n", 200))
		f, err := os.Create(filepath.Join(dir, names[i]))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files[i] = f
	}
	return names, files
}

func TestFSWatchCarriesMoreThanTheCredit(t *testing.T) {
	m, home := fsHost(t)
	names, files := twoFiles(t, home)
	w := watch(t, m, home, false)
	// Twice the credit's worth of events: the host must grant more as it
	// takes them.
	var want []agentproto.FSEvent
	for i := range 2 * agentproto.InitialCredit / 200 {
		want = append(want, ev(names[i%2], "write"))
	}
	go func() {
		for i := range want {
			files[i%2].Write([]byte("x"))
		}
	}()
	watchFor(t, w, want...)
}

func TestFSWatchThatFallsBehindSaysSo(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	var queue int
	if _, serr := fmt.Sscan(string(b), &queue); err != nil || serr != nil || queue > 1<<20 {
		t.Skipf("inotify's queue length %q (%v): too long to overflow here", b, err)
	}
	m, home := fsHost(t)
	_, files := twoFiles(t, home)
	w := watch(t, m, home, false)
	// Nobody takes the events: once the guest has sent its credit's
	// worth, the kernel's queue fills and overflows.
	for i := range queue + agentproto.InitialCredit/200 + 1000 {
		files[i%2].Write([]byte("x"))
	}
	for range w.Events() {
	}
	if err := w.Err(); err == nil || !strings.Contains(err.Error(), "lost events") {
		t.Errorf("Err of a watch that fell behind = %v; want lost events", err)
	}
}
