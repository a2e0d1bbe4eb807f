package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

const (
	// cpFiles files of cpFileBytes each make the copied tree: 200 MiB.
	cpFiles     = 50
	cpFileBytes = 4 << 20
	cpRounds    = 3
	// cpTarget: vm cp should take at most this many times the tar pipe.
	cpTarget = 1.1
)

// benchCp measures `banger vm cp DIR VM:/root/a` beside the baseline `tar
// c DIR | banger vm exec VM -- tar x -C /root/b`, which moves the same
// bytes over the same agent channel, cpRounds times each, alternating, on
// the running VM vm. banger makes a command that runs the CLI (in the
// VM's namespace); work holds the generated tree.
func benchCp(banger func(args ...string) *exec.Cmd, vm, work string) error {
	if os.Getenv("BENCH_CP") == "0" {
		fmt.Println("\n(vm cp figure skipped: BENCH_CP=0)")
		return nil
	}
	src := filepath.Join(work, "cp-src")
	if err := genCpTree(src); err != nil {
		return fmt.Errorf("generating the tree to copy: %w", err)
	}
	run := func(cmd *exec.Cmd) error {
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, lastLines(string(out), 10))
		}
		return nil
	}
	var cpTimes, tarTimes []time.Duration
	for range cpRounds {
		if err := run(banger("vm", "exec", vm, "--", "sh", "-c", "rm -rf /root/a /root/b && mkdir /root/b")); err != nil {
			return err
		}
		start := time.Now()
		if err := run(banger("vm", "cp", src, vm+":/root/a")); err != nil {
			return err
		}
		cpTimes = append(cpTimes, time.Since(start))
		d, err := tarPipe(banger("vm", "exec", vm, "--", "tar", "x", "-C", "/root/b"), src)
		if err != nil {
			return err
		}
		tarTimes = append(tarTimes, d)
	}
	_ = run(banger("vm", "exec", vm, "--", "rm", "-rf", "/root/a", "/root/b"))
	return reportCp(vm, cpTimes, tarTimes)
}

// tarPipe times `tar c -C DIR NAME | into`.
func tarPipe(into *exec.Cmd, src string) (time.Duration, error) {
	tar := exec.Command("tar", "c", "-C", filepath.Dir(src), filepath.Base(src))
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return 0, err
	}
	into.Stdin = pipe
	var out strings.Builder
	into.Stdout, into.Stderr = &out, &out
	start := time.Now()
	if err := tar.Start(); err != nil {
		return 0, err
	}
	err = into.Run()
	if werr := tar.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return 0, fmt.Errorf("tar c | %s: %v: %s", strings.Join(into.Args, " "), err, lastLines(out.String(), 10))
	}
	return time.Since(start), nil
}

func genCpTree(dir string) error {
	buf := make([]byte, cpFileBytes)
	for i := range cpFiles {
		sub := filepath.Join(dir, fmt.Sprintf("d%d", i%5))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func reportCp(vm string, cpTimes, tarTimes []time.Duration) error {
	slices.Sort(cpTimes)
	slices.Sort(tarTimes)
	cp, tar := cpTimes[len(cpTimes)/2], tarTimes[len(tarTimes)/2]
	ratio := float64(cp) / float64(tar)
	verdict := "met"
	if ratio > cpTarget {
		verdict = "MISSED"
	}
	mibs := func(d time.Duration) string {
		return fmt.Sprintf("%.1f MiB/s", float64(cpFiles*cpFileBytes)/(1<<20)/d.Seconds())
	}
	fmt.Printf("\nvm cp: %d MiB in %d files into VM %s, median of %d rounds\n", cpFiles*cpFileBytes>>20, cpFiles, vm, cpRounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\ttime\trate\ttarget")
	fmt.Fprintf(tw, "banger vm cp DIR VM:/root/a\t%s\t%s\t<= %.1fx the tar pipe (%.2fx): %s\n", secs(cp), mibs(cp), cpTarget, ratio, verdict)
	fmt.Fprintf(tw, "baseline: tar c DIR | banger vm exec VM -- tar x\t%s\t%s\t\n", secs(tar), mibs(tar))
	return tw.Flush()
}
