package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"banger/internal/api"
)

// measureWarm times `vm run --rm -- true` restored from a warm template,
// beside the cold runs measured before it on the same machine, and reports
// the template's size on disk and what a restored VM costs the host in
// memory against a cold-booted one.
func (b *vmBench) measureWarm(cold samples) ([]oneShot, error) {
	b.logf("making the warm template of %s", goldenImage)
	if _, err := b.cli("image", "warm", goldenImage); err != nil {
		return nil, err
	}
	var warm samples
	for r := 0; r < b.rounds; r++ {
		name := fmt.Sprintf("warm-%d", r)
		b.logf("vm run --rm %s, warm", name)
		total, _, err := b.timedCLI([]string{"==> restoring from the warm template"}, "vm", "run", "--rm", "--name", name, "--", "true")
		if err != nil {
			return nil, err
		}
		warm = append(warm, total)
	}
	out, err := b.cli("image", "show", goldenImage, "--json")
	if err != nil {
		return nil, err
	}
	var d api.ImageDetail
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		return nil, err
	}
	if len(d.Templates) == 0 {
		return nil, fmt.Errorf("image show %s lists no warm template", goldenImage)
	}
	coldRSS, err := b.vmmRSS("mem-cold", "--cold")
	if err != nil {
		return nil, err
	}
	warmRSS, err := b.vmmRSS("mem-warm")
	if err != nil {
		return nil, err
	}
	return []oneShot{
		{name: "vm run --rm -- true, cold (from the rows above)", value: cold.String()},
		{name: "vm run --rm -- true, restored from a warm template", value: warm.String()},
		ratioRow("vm run --rm -- true: warm / cold", warm, cold, 0.2),
		{name: "warm template on disk", value: mib(d.Templates[0].Bytes)},
		{name: "baseline: QEMU RSS of a cold-booted VM, once ready", value: mib(coldRSS)},
		{name: "QEMU RSS of a restored VM, once ready", value: mib(warmRSS)},
		{name: "extra host memory of a restored VM", value: mib(warmRSS - coldRSS)},
	}, nil
}

// vmmRSS creates a VM, reads its QEMU's resident memory once it is ready,
// and deletes it. Its QEMU is the one whose pid file is new.
func (b *vmBench) vmmRSS(name string, flags ...string) (int64, error) {
	before := b.pidFiles()
	b.logf("vm create %s %s", name, strings.Join(flags, " "))
	if _, err := b.cli(append([]string{"vm", "create", "--name", name}, flags...)...); err != nil {
		return 0, err
	}
	defer b.cli("vm", "delete", "--force", name)
	for _, f := range b.pidFiles() {
		if slices.Contains(before, f) {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			return 0, fmt.Errorf("pid file %s: %w", f, err)
		}
		return vmRSS(pid)
	}
	return 0, fmt.Errorf("no QEMU pid file appeared for %s", name)
}

func (b *vmBench) pidFiles() []string {
	files, _ := filepath.Glob(filepath.Join(envValue(b.env, "XDG_RUNTIME_DIR"), "banger", "vm", "*", "qemu.pid"))
	return files
}
