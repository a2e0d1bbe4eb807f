package qemu

import (
	"bufio"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"banger/internal/vmm"
)

// testE2ETemplateMemory is warm-template memory as banger uses it: a
// guest whose RAM is a shared file is saved without its RAM; two clones
// map the file privately and run on from the saved point; what they write
// never reaches the file; and a clone's own save, which carries its RAM
// whole, loads into a plain VM.
func testE2ETemplateMemory(t *testing.T, d *Driver, a e2eAssets) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	tmpl := a.spec(t)
	tmpl.MemoryFile, tmpl.MemoryShared = filepath.Join(dir, "memory"), true
	info, err := d.Start(ctx, tmpl)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), tmpl) })
	if err := waitConsole(ctx, info.ConsoleLog, "markerinit: alive 2", 90*time.Second); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if err := d.SaveState(ctx, tmpl, state); err != nil {
		t.Fatalf("SaveState: %v", err)
	}
	d.Kill(ctx, tmpl)
	if st, err := os.Stat(state); err != nil || st.Size() > 4<<20 {
		t.Fatalf("the template's state is %v (%v); want device state only, under 4 MiB: the RAM is in the file", st.Size(), err)
	}
	before := fileSum(t, tmpl.MemoryFile)

	clones := []vmm.Spec{startClone(ctx, t, d, a, tmpl.MemoryFile, state), startClone(ctx, t, d, a, tmpl.MemoryFile, state)}
	for _, c := range clones {
		log := consolePath(c)
		if err := waitFor(ctx, 30*time.Second, func() bool { return consoleCount(log, "markerinit: alive") >= 2 }); err != nil {
			t.Fatalf("clone %s made no heartbeats of its own: %v; console:\n%s", c.RunDir, err, tail(log))
		}
		if consoleHas(log, "Linux version") {
			t.Errorf("clone %s booted instead of going on from the template", c.RunDir)
		}
		p, _, _ := findProcess(c)
		rss, pss := memoryOf(t, p.PID)
		t.Logf("clone QEMU %d: RSS %d KiB, PSS %d KiB", p.PID, rss, pss)
	}
	if after := fileSum(t, tmpl.MemoryFile); after != before {
		t.Errorf("the template's memory file changed while clones ran: their writes reached it")
	}

	// A clone's own save holds its RAM, and loads without the file.
	saved := filepath.Join(dir, "clone-state")
	if err := d.SaveState(ctx, clones[0], saved); err != nil {
		t.Fatalf("SaveState of a clone: %v", err)
	}
	d.Kill(ctx, clones[0])
	plain := a.spec(t)
	info, err = d.Restore(ctx, plain, saved)
	if err != nil {
		t.Fatalf("Restore of a clone's save into a VM without the file: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), plain) })
	beats := consoleCount(info.ConsoleLog, "markerinit: alive")
	if err := waitFor(ctx, 30*time.Second, func() bool { return consoleCount(info.ConsoleLog, "markerinit: alive") > beats }); err != nil {
		t.Fatalf("the clone's save, restored, made no heartbeat: %v; console:\n%s", err, tail(info.ConsoleLog))
	}
}

// startClone restores a VM from the template's state and memory file.
func startClone(ctx context.Context, t *testing.T, d *Driver, a e2eAssets, memory, state string) vmm.Spec {
	t.Helper()
	c := a.spec(t)
	c.MemoryFile = memory
	if _, err := d.Restore(ctx, c, state); err != nil {
		t.Fatalf("Restore of a clone: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), c) })
	return c
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// memoryOf reads a process's RSS and PSS, in KiB.
func memoryOf(t *testing.T, pid int) (rss, pss int64) {
	t.Helper()
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "Rss":
			rss = n
		case "Pss":
			pss = n
		}
	}
	return rss, pss
}
