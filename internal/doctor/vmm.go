package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

const qemuBinary = "qemu-system-x86_64"

// notFound is the summary for a tool that LookPath cannot find.
func notFound(bin string) string {
	return bin + " not found on PATH, /usr/sbin or /sbin"
}

// findFirecracker resolves the configured firecracker_bin, or looks on PATH.
func findFirecracker(h Host, bin string) (string, error) {
	if bin == "" {
		if p, err := h.LookPath("firecracker"); err == nil {
			return p, nil
		}
		return "", errors.New(notFound("firecracker"))
	}
	fi, err := h.Stat(bin)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("firecracker_bin %s does not exist", bin)
	}
	if err != nil {
		return "", fmt.Errorf("firecracker_bin %s: %w", bin, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("firecracker_bin %s is not an executable file", bin)
	}
	return bin, nil
}

func checkFirecracker(ctx context.Context, opts Options) Result {
	const name = "firecracker"
	path, err := findFirecracker(opts.Host, opts.FirecrackerBin)
	if err == nil {
		return versionResult(ctx, opts.Host, name, path,
			"reinstall firecracker, or point firecracker_bin in the config at a working binary")
	}
	fix := "install firecracker from its GitHub releases, or set firecracker_bin in the config"
	switch {
	case opts.VMM == "firecracker":
		return fail(name, err.Error(), fix)
	case opts.VMM == "qemu":
		return pass(name, "not installed; not used while vmm = qemu")
	case opts.FirecrackerBin != "":
		return warn(name, err.Error()+"; vmm = auto will use QEMU", "fix firecracker_bin, or remove it")
	}
	if _, qerr := opts.Host.LookPath(qemuBinary); qerr != nil {
		return warn(name, err.Error()+"; QEMU is missing too", fix+", or install QEMU")
	}
	return pass(name, "not installed; vmm = auto uses QEMU (Firecracker is optional)")
}

func checkQEMU(ctx context.Context, opts Options) Result {
	const name = "qemu"
	const fix = "sudo apt-get install qemu-system-x86"
	path, err := opts.Host.LookPath(qemuBinary)
	if err == nil {
		return versionResult(ctx, opts.Host, name, path, "reinstall it: sudo apt-get install --reinstall qemu-system-x86")
	}
	switch opts.VMM {
	case "qemu":
		return fail(name, notFound(qemuBinary)+"; vmm = qemu needs it", fix)
	case "firecracker":
		return pass(name, "not installed; not used while vmm = firecracker")
	}
	if _, ferr := findFirecracker(opts.Host, opts.FirecrackerBin); ferr != nil {
		return fail(name, notFound(qemuBinary)+"; firecracker is missing too, so no VMM can run VMs", fix)
	}
	return warn(name, notFound(qemuBinary)+"; vmm = auto will use firecracker", fix)
}

// versionResult passes with the first line of `path --version`, or warns when
// the binary does not run.
func versionResult(ctx context.Context, h Host, name, path, fix string) Result {
	out, err := h.Output(ctx, path, "--version")
	if err != nil {
		return warn(name, fmt.Sprintf("found %s, but `%s --version` failed: %v", path, path, err), fix)
	}
	return pass(name, fmt.Sprintf("%s (%s)", firstLine(out), path))
}

// firstLine returns the first non-blank line of s, trimmed.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if t := strings.TrimSpace(line); t != "" {
			return t
		}
	}
	return "version unknown"
}
