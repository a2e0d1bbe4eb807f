package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The generated repository of the workspace figure.
const (
	wsFiles = 20000
	wsBytes = 300_000_000
)

// benchWorkspace measures how long `banger vm run REPO` takes to bring a
// generated repository of wsFiles files and wsBytes bytes into a VM,
// beside the baseline of piping `git ls-files -z | tar` over ssh into a
// VM booted in the same run. Workspace mode copies while it builds the
// work disk, before the boot, and the guest gives the files to root on
// its first boot; so its figure is the time `vm run REPO -- true` takes
// beyond a bare `vm run -- true`, both cold boots here, one after the
// other. The host's part (listing the repository and building the work
// disk) is shown apart: boots vary by seconds under emulation, it does
// not.
//
// cache is an XDG cache directory to pull the image into; one that
// already holds the golden image's build (benchImages' after it ran)
// saves a cold build. The VMs run in a network namespace of their own.
func benchWorkspace(work, bin, cache string) error {
	if os.Getenv("BENCH_WORKSPACE") == "0" {
		fmt.Println("\n(workspace figures skipped: BENCH_WORKSPACE=0)")
		return nil
	}
	if os.Geteuid() != 0 {
		fmt.Println("\n(workspace figures skipped: VMs need root for their network namespace)")
		return nil
	}
	repo := filepath.Join(work, "ws-repo", "repo")
	if err := genRepo(repo, wsFiles, wsBytes); err != nil {
		return fmt.Errorf("generating the repository: %w", err)
	}
	env := benchEnv(work, bin, "ws-state", cache)
	banger := filepath.Join(bin, "banger")
	defer stopDaemon(banger, env)
	if out, err := command(env, banger, "image", "pull", "debian-bookworm").CombinedOutput(); err != nil {
		return fmt.Errorf("pulling the image: %v: %s", err, lastLines(string(out), 15))
	}
	ns, err := newBenchNetns()
	if err != nil {
		return err
	}
	defer ns.close(banger, env)
	stopDaemon(banger, env) // the next command starts it in the namespace

	size := []string{"--vcpu", "2", "--memory", "1024", "--disk-size", "4G"}
	ws, err := ns.timedRun(env, banger, append(append([]string{"vm", "run", "--name", "ws-bench"}, size...), repo, "--", "true"))
	if err != nil {
		return err
	}
	// One VM at a time: an idle guest still takes CPU under emulation.
	if out, err := ns.cmd(env, banger, "vm", "delete", "--force", "ws-bench").CombinedOutput(); err != nil {
		return fmt.Errorf("deleting ws-bench: %v: %s", err, out)
	}
	bare, err := ns.timedRun(env, banger, append(append([]string{"vm", "run", "--name", "ws-bare"}, size...), "--", "true"))
	if err != nil {
		return err
	}
	base, err := ns.tarOverSSH(env, banger, repo, "ws-bare")
	if err != nil {
		return err
	}
	copyTime := ws.total - bare.total
	verdict := "met"
	if float64(copyTime) > 0.8*float64(base) {
		verdict = "MISSED"
	}
	reportOneShots([]oneShot{
		{name: fmt.Sprintf("workspace copy, %d files / %d MB: vm run REPO beyond a bare vm run", wsFiles, wsBytes/1_000_000),
			value: copyTime.Round(100 * time.Millisecond).String(), target: "<= 0.8x baseline: " + verdict},
		{name: "  of which on the host: listing, work disk with the copy", value: ws.host.Round(10 * time.Millisecond).String()},
		{name: "  vm run REPO -- true / vm run -- true", value: ws.total.Round(100*time.Millisecond).String() + " / " + bare.total.Round(100*time.Millisecond).String()},
		{name: "baseline: git ls-files -z | tar | ssh into the VM", value: base.Round(100 * time.Millisecond).String()},
	})
	return nil
}

// netnsRun is a network namespace for the benchmark's VMs.
type netnsRun struct{ name string }

func newBenchNetns() (*netnsRun, error) {
	ns := &netnsRun{name: fmt.Sprintf("banger-bench-%d", os.Getpid())}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	if out, err := exec.Command("ip", "-n", ns.name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		exec.Command("ip", "netns", "del", ns.name).Run()
		return nil, fmt.Errorf("ip link set lo up: %v: %s", err, out)
	}
	return ns, nil
}

func (ns *netnsRun) cmd(env []string, banger string, args ...string) *exec.Cmd {
	return command(env, "ip", append([]string{"netns", "exec", ns.name, banger}, args...)...)
}

// close deletes the VMs, stops the namespace's daemon, removes it.
func (ns *netnsRun) close(banger string, env []string) {
	for _, vm := range []string{"ws-bench", "ws-bare"} {
		_ = ns.cmd(env, banger, "vm", "delete", "--force", vm).Run()
	}
	_ = ns.cmd(env, banger, "daemon", "stop").Run()
	_ = exec.Command("ip", "netns", "del", ns.name).Run()
}

// runTimes is one vm run: its wall time, and the host's part of the
// workspace copy, from the progress steps around it.
type runTimes struct{ total, host time.Duration }

func (ns *netnsRun) timedRun(env []string, banger string, args []string) (runTimes, error) {
	cmd := ns.cmd(env, banger, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return runTimes{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return runTimes{}, err
	}
	var t runTimes
	var disks time.Time
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, "==> listing the workspace"):
			disks = time.Now()
		case strings.HasPrefix(line, "==> attaching to the bridge") && !disks.IsZero():
			t.host = time.Since(disks)
		}
	}
	if err := cmd.Wait(); err != nil {
		return t, fmt.Errorf("banger %s: %v: %s", strings.Join(args, " "), err, lastLines(log.String(), 15))
	}
	t.total = time.Since(start)
	return t, nil
}

// tarOverSSH is the baseline: the files git tracks, streamed by tar over
// banger's ssh into the VM and unpacked there.
func (ns *netnsRun) tarOverSSH(env []string, banger, repo, vm string) (time.Duration, error) {
	start := time.Now()
	ls := exec.Command("git", "ls-files", "-z")
	ls.Dir = repo
	tr := exec.Command("tar", "--null", "-T", "-", "-cf", "-")
	tr.Dir = repo
	ssh := ns.cmd(env, banger, "vm", "ssh", vm, "--", "mkdir -p /root/baseline && tar -xf - -C /root/baseline")
	var err error
	if tr.Stdin, err = ls.StdoutPipe(); err != nil {
		return 0, err
	}
	if ssh.Stdin, err = tr.StdoutPipe(); err != nil {
		return 0, err
	}
	var errb bytes.Buffer
	ssh.Stderr, tr.Stderr, ls.Stderr = &errb, &errb, &errb
	for _, c := range []*exec.Cmd{ssh, tr, ls} {
		if err := c.Start(); err != nil {
			return 0, err
		}
	}
	for _, c := range []*exec.Cmd{ls, tr, ssh} {
		if err := c.Wait(); err != nil {
			return 0, fmt.Errorf("baseline %s: %v: %s", c.Args[0], err, lastLines(errb.String(), 10))
		}
	}
	return time.Since(start), nil
}

// genRepo writes a committed repository of about files files and total
// bytes of text in a thousand directories, as source trees are, packed as
// a cloned repository is, plus a few uncommitted edits and untracked
// files.
func genRepo(dir string, files int, total int64) error {
	r := rand.New(rand.NewSource(1))
	words := strings.Fields("func return if err nil for range package import type struct string int map var const the banger vm disk")
	avg := float64(total) / float64(files)
	var buf bytes.Buffer
	for i := 0; i < files; i++ {
		p := filepath.Join(dir, fmt.Sprintf("d%02d/s%02d/f%05d.txt", i/400, (i/20)%20, i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		size := int(r.ExpFloat64() * avg)
		buf.Reset()
		for buf.Len() < size {
			buf.WriteString(words[r.Intn(len(words))])
			if r.Intn(12) == 0 {
				fmt.Fprintf(&buf, " %x\n", r.Int63())
			} else {
				buf.WriteByte(' ')
			}
		}
		if err := os.WriteFile(p, buf.Bytes()[:size], 0o644); err != nil {
			return err
		}
	}
	git := func(args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.org",
			"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.org", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"}, {"config", "gc.auto", "0"}, {"add", "-A"}, {"commit", "-qm", "generated"},
		{"repack", "-a", "-d", "-q", "--window=0"}, {"prune-packed"},
	} {
		if err := git(args...); err != nil {
			return err
		}
	}
	for i := 0; i < 10; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("d00/s00/f%05d.txt", i)), []byte("edited\n"), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("untracked-%d.txt", i)), []byte("new\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}
