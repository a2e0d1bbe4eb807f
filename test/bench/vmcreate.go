package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"banger/internal/api"
)

// imageSizes are the allocated bytes of the two images VMs are created
// from.
type imageSizes struct{ golden, larger int64 }

// prepareImages pulls the golden image and its kernel, and registers a
// copy four times its size, all in the host's namespace (a pull may build
// from Debian's archive); then it stops that daemon, so that the next one
// starts in the bench's namespace.
func (b *vmBench) prepareImages() (imageSizes, error) {
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(b.ctx, b.banger, args...)
		cmd.Env = b.env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("banger %s: %v: %s", strings.Join(args, " "), err, lastLines(stderr.String(), 15))
		}
		return string(out), nil
	}
	show := func(name string) (api.ImageDetail, error) {
		var d api.ImageDetail
		out, err := run("image", "show", name, "--json")
		if err == nil {
			err = json.Unmarshal([]byte(out), &d)
		}
		return d, err
	}
	b.logf("pulling %s in the host's namespace", goldenImage)
	if _, err := run("image", "pull", goldenImage); err != nil {
		return imageSizes{}, err
	}
	golden, err := show(goldenImage)
	if err != nil {
		return imageSizes{}, err
	}
	if _, err := run("kernel", "pull", golden.Kernel); err != nil {
		return imageSizes{}, err
	}
	b.logf("making %s, four times %s", largerImage, goldenImage)
	big := filepath.Join(b.work, "larger.ext4")
	if err := growImage(b.ctx, golden.RootfsPath, big, 4); err != nil {
		return imageSizes{}, fmt.Errorf("making the larger image: %w", err)
	}
	b.logf("registering %s", largerImage)
	_, err = run("image", "register", largerImage, "--rootfs", big, "--kernel", golden.Kernel)
	os.Remove(big)
	if err != nil {
		return imageSizes{}, err
	}
	larger, err := show(largerImage)
	if err != nil {
		return imageSizes{}, err
	}
	if _, err := run("daemon", "stop"); err != nil {
		return imageSizes{}, err
	}
	return imageSizes{golden: golden.AllocatedBytes, larger: larger.AllocatedBytes}, nil
}

// createFigures are vm create's times for one image.
type createFigures struct {
	ready samples // CLI start to exit, the guest ready
	toVMM samples // CLI start to the "booting" step: disks and network done
}

// preBootOnly is how many creates per image, beyond the rounds, stop
// when QEMU starts: they add samples of the step before the boot at the
// cost of no boot.
const preBootOnly = 10

// measureCreates creates and deletes VMs from each image in turn (index 0
// golden, 1 larger), then interrupts more creates as soon as QEMU starts.
// The first golden VM also lends its QEMU command line to the baseline
// boot.
func (b *vmBench) measureCreates() ([2]createFigures, rawQEMU, error) {
	var f [2]createFigures
	var raw rawQEMU
	images := [2]string{goldenImage, largerImage}
	for r := 0; r < b.rounds+preBootOnly; r++ {
		if r == b.rounds {
			b.logf("%d more creates per image, each stopped once QEMU starts", preBootOnly)
		}
		for k := range images {
			i := (k + r) % 2 // alternate which image goes first
			name := fmt.Sprintf("create-%d-%d", r, i)
			if r >= b.rounds {
				d, err := b.createUntilBoot(name, images[i])
				if err != nil {
					return f, raw, err
				}
				f[i].toVMM = append(f[i].toVMM, d)
				continue
			}
			total, at, err := b.timedCLI([]string{"==> booting on"}, "vm", "create", "--cold", "--name", name, "--image", images[i])
			if err != nil {
				return f, raw, err
			}
			f[i].ready = append(f[i].ready, total)
			f[i].toVMM = append(f[i].toVMM, at[0])
			if i == 0 && raw.argv == nil {
				if raw, err = b.captureQEMU(name); err != nil {
					return f, raw, err
				}
			}
			if _, err := b.cli("vm", "delete", "--force", name); err != nil {
				return f, raw, err
			}
		}
	}
	return f, raw, nil
}

// createUntilBoot creates a VM and interrupts the CLI, as Ctrl-C would,
// once QEMU starts, so the daemon undoes the create. It returns the time
// to that point, after the VM is gone.
func (b *vmBench) createUntilBoot(name, image string) (time.Duration, error) {
	_, at, err := b.cliTimes([]string{"==> booting on"}, true, "vm", "create", "--cold", "--name", name, "--image", image)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := b.cli("vm", "list", "--json")
		var vms []api.VM
		if err == nil {
			err = json.Unmarshal([]byte(out), &vms)
		}
		if err != nil {
			return 0, err
		}
		if !slices.ContainsFunc(vms, func(v api.VM) bool { return v.Name == name }) {
			return at[0], nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("VM %s is still listed a minute after its create was interrupted", name)
		}
		select {
		case <-b.ctx.Done():
			return 0, b.ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func createRows(f [2]createFigures, sizes imageSizes) []oneShot {
	mb := func(n int64) string { return fmt.Sprintf("%.0f MB on disk", float64(n)/1e6) }
	return []oneShot{
		{name: "vm create to ready, golden image (" + mb(sizes.golden) + ")", value: f[0].ready.String()},
		{name: "vm create to ready, 4x image (" + mb(sizes.larger) + ")", value: f[1].ready.String()},
		ratioRow("vm create to ready: 4x image / golden", f[1].ready, f[0].ready, 1.2),
		{name: "vm create until QEMU starts (disks, network; no boot), golden", value: f[0].toVMM.String()},
		{name: "vm create until QEMU starts (disks, network; no boot), 4x image", value: f[1].toVMM.String()},
		ratioRow("vm create until QEMU starts: 4x image / golden", f[1].toVMM, f[0].toVMM, 1.2),
	}
}
