package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func vmmOpts(h *fakeHost, vmm string) Options {
	return Options{VMM: vmm, Host: h}
}

func TestFirecrackerFoundWithVersion(t *testing.T) {
	r := checkFirecracker(context.Background(), vmmOpts(goodHost(), "auto"))
	expect(t, r, Pass, "Firecracker v1.8.0 (/usr/bin/firecracker)")
}

func TestFirecrackerConfiguredBin(t *testing.T) {
	h := goodHost()
	delete(h.paths, "firecracker")
	h.files["/opt/fc"] = 0o755
	h.outputs["/opt/fc"] = "Firecracker v1.9.0\n"
	opts := Options{VMM: "firecracker", FirecrackerBin: "/opt/fc", Host: h}
	expect(t, checkFirecracker(context.Background(), opts), Pass, "v1.9.0 (/opt/fc)")

	h.files["/opt/fc"] = 0o644
	expect(t, checkFirecracker(context.Background(), opts), Fail, "not an executable file")
	opts.FirecrackerBin = "/opt/none"
	expect(t, checkFirecracker(context.Background(), opts), Fail, "/opt/none does not exist")
}

func TestFirecrackerMissing(t *testing.T) {
	h := goodHost()
	delete(h.paths, "firecracker")
	r := checkFirecracker(context.Background(), vmmOpts(h, "firecracker"))
	expect(t, r, Fail, "not found")
	if !strings.Contains(r.Fix, "firecracker_bin") {
		t.Fatalf("fix %q does not mention firecracker_bin", r.Fix)
	}
	// QEMU serves: Firecracker is optional.
	expect(t, checkFirecracker(context.Background(), vmmOpts(h, "auto")), Pass, "vmm = auto uses QEMU")
	expect(t, checkFirecracker(context.Background(), vmmOpts(h, "qemu")), Pass, "not used while vmm = qemu")
	delete(h.paths, qemuBinary)
	expect(t, checkFirecracker(context.Background(), vmmOpts(h, "auto")), Warn, "QEMU is missing too")
}

func TestFirecrackerBinBrokenUnderAuto(t *testing.T) {
	opts := Options{VMM: "auto", FirecrackerBin: "/opt/none", Host: goodHost()}
	expect(t, checkFirecracker(context.Background(), opts), Warn, "/opt/none does not exist; vmm = auto will use QEMU")
}

func TestFirecrackerVersionFails(t *testing.T) {
	h := goodHost()
	h.outErr = errors.New("exit status 1")
	expect(t, checkFirecracker(context.Background(), vmmOpts(h, "auto")), Warn, "--version` failed")
}

func TestQEMUFound(t *testing.T) {
	expect(t, checkQEMU(context.Background(), vmmOpts(goodHost(), "qemu")), Pass, "QEMU emulator version 7.2.19")
}

func TestQEMUMissing(t *testing.T) {
	h := goodHost()
	delete(h.paths, qemuBinary)
	cases := []struct {
		vmm    string
		noFC   bool
		status Status
	}{
		{vmm: "qemu", status: Fail},
		{vmm: "auto", status: Warn},
		{vmm: "auto", noFC: true, status: Fail},
		{vmm: "", noFC: true, status: Fail},
		{vmm: "firecracker", status: Pass},
	}
	for _, c := range cases {
		if c.noFC {
			delete(h.paths, "firecracker")
		} else {
			h.paths["firecracker"] = "/usr/bin/firecracker"
		}
		r := checkQEMU(context.Background(), vmmOpts(h, c.vmm))
		if c.status == Pass {
			expect(t, r, Pass, "not used while vmm = firecracker")
			continue
		}
		expect(t, r, c.status, "not found")
		if !strings.Contains(r.Fix, "apt-get install qemu-system-x86") {
			t.Errorf("vmm=%q: fix %q does not name the package", c.vmm, r.Fix)
		}
	}
}

func TestFirstLine(t *testing.T) {
	if got := firstLine("\n  QEMU 7.2  \nx\n"); got != "QEMU 7.2" {
		t.Fatalf("firstLine = %q", got)
	}
	if got := firstLine(""); got != "version unknown" {
		t.Fatalf("firstLine(\"\") = %q", got)
	}
}
