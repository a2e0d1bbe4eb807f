package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// bootUntil boots a kernel, initrd and root image under QEMU with no
// network device, and waits until the console prints want. The root image
// is opened with -snapshot, so the boot leaves it unchanged.
func bootUntil(t *testing.T, kernel, initrd, rootfs, want string, limit time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	accel, extra := qemuAccel()
	args := []string{"-M", "microvm", "-accel", accel, "-m", "512", "-smp", "1",
		"-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-serial", "stdio", "-snapshot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 root=/dev/vda rw panic=-1" + extra,
		"-drive", "id=root,file=" + rootfs + ",format=raw,if=none", "-device", "virtio-blk-device,drive=root"}
	if accel == "kvm" {
		args = append(args, "-cpu", "host")
	} else {
		args = append(args, "-cpu", "max")
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting qemu: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var tail []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, want) {
			return time.Since(start)
		}
		if tail = append(tail, line); len(tail) > 40 {
			tail = tail[1:]
		}
	}
	t.Fatalf("console never printed %q within %s; last lines:\n%s", want, limit, strings.Join(tail, "\n"))
	return 0
}

// qemuAccel picks KVM on hosts with hardware virtualisation, else TCG with
// the clock flags a TCG guest needs to boot reliably.
func qemuAccel() (accel, cmdline string) {
	for _, m := range []string{"kvm_intel", "kvm_amd"} {
		if _, err := os.Stat("/sys/module/" + m); err == nil {
			if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
				f.Close()
				return "kvm", ""
			}
		}
	}
	return "tcg,thread=multi,tb-size=256", " tsc_early_khz=2100000 tsc=reliable"
}
