package main

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

const (
	// execCalls is how many calls each exec latency figure is made of.
	execCalls = 50
	// execTarget: vm exec's p50 should be at most this share of ssh's.
	execTarget = 0.3
)

// benchExec measures `banger vm exec VM -- true` beside `banger vm ssh VM
// -- true`, execCalls calls each, on the same running VM in the same run,
// and prints their p50 and p95 with the verdict on execTarget. banger
// makes a command that runs the CLI with the given arguments (inside the
// VM's network namespace, with the bench's environment); vm names a
// running VM whose image has sshd. One call of each comes first and is
// not counted: it makes the daemon's connection to the guest agent, and
// warms ssh.
func benchExec(banger func(args ...string) *exec.Cmd, vm string) error {
	measure := func(args ...string) ([]time.Duration, error) {
		times := make([]time.Duration, 0, execCalls)
		for i := 0; i <= execCalls; i++ {
			cmd := banger(args...)
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("banger %s: %v: %s", strings.Join(args, " "), err, out)
			}
			if i > 0 {
				times = append(times, time.Since(start))
			}
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		return times, nil
	}
	execTimes, err := measure("vm", "exec", vm, "--", "true")
	if err != nil {
		return err
	}
	sshTimes, err := measure("vm", "ssh", vm, "--", "true")
	if err != nil {
		return err
	}
	execP50, sshP50 := percentile(execTimes, 0.50), percentile(sshTimes, 0.50)
	verdict := "met"
	if float64(execP50) > execTarget*float64(sshP50) {
		verdict = "MISSED"
	}
	fmt.Printf("\nexec latency: %d calls each on VM %s\n", execCalls, vm)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tp50\tp95\ttarget")
	fmt.Fprintf(tw, "banger vm exec VM -- true (guest agent)\t%s\t%s\tp50 <= %.1fx ssh p50 (%.2fx): %s\n",
		ms(execP50), ms(percentile(execTimes, 0.95)), execTarget, float64(execP50)/float64(sshP50), verdict)
	fmt.Fprintf(tw, "baseline: banger vm ssh VM -- true\t%s\t%s\t\n", ms(sshP50), ms(percentile(sshTimes, 0.95)))
	return tw.Flush()
}

// benchExec needs a running VM, which main's VM figures provide: they call
// it with their namespace's CLI and their VM.
