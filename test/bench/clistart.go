package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const (
	// cliStartRuns is how many times each start figure runs. The runs of
	// the commands alternate, so that load from elsewhere on the machine
	// falls on each alike.
	cliStartRuns = 200
	// cliStartTarget bounds a command's start, as a multiple of the start
	// of a Go program that does nothing.
	cliStartTarget = 3.0
)

// minimalMain is the baseline program: the Go runtime's start and exit,
// and nothing else.
const minimalMain = "package main\n\nfunc main() {}\n"

// benchCLIStart measures whole banger processes that need neither a VM
// nor the config: `banger version` and `banger vm list`, both asking the
// running daemon, beside a Go program that does nothing, built with the
// same toolchain and flags.
func benchCLIStart(env []string, bin string) error {
	base, err := buildMinimal(bin)
	if err != nil {
		return err
	}
	banger := filepath.Join(bin, "banger")
	figures := []struct {
		name string
		argv []string
	}{
		{"baseline: a Go program whose main returns", []string{base}},
		{"banger version (whole process)", []string{banger, "version"}},
		{"banger vm list (whole process, no VMs)", []string{banger, "vm", "list"}},
	}
	times := make([]samples, len(figures))
	for range cliStartRuns {
		for i, f := range figures {
			start := time.Now()
			if err := command(env, f.argv[0], f.argv[1:]...).Run(); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			times[i] = append(times[i], time.Since(start))
		}
	}
	fmt.Printf("\nCLI start: median of %d runs each, alternating\n", cliStartRuns)
	rows := []oneShot{{name: figures[0].name, value: ms(times[0].median())}}
	for i, f := range figures[1:] {
		r := float64(times[i+1].median()) / float64(times[0].median())
		rows = append(rows, oneShot{
			name:   f.name,
			value:  fmt.Sprintf("%s, %.2fx the baseline", ms(times[i+1].median()), r),
			target: verdict(r <= cliStartTarget, fmt.Sprintf("<= %.0fx the baseline", cliStartTarget)),
		})
	}
	reportOneShots(rows)
	return nil
}

// buildMinimal builds minimalMain into bin, as build builds banger.
func buildMinimal(bin string) (string, error) {
	src, err := os.MkdirTemp("", "banger-bench-minimal")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module minimal\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(minimalMain), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(bin, "minimal")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the minimal Go program: %v: %s", err, b)
	}
	return out, nil
}
