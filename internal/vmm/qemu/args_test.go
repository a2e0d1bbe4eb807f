package qemu

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"banger/internal/vmm"
)

func testSpec() vmm.Spec {
	return vmm.Spec{
		Name: "dev", VCPU: 2, MemoryMiB: 512,
		Kernel: "/k/vmlinuz", Initrd: "/k/initrd.img",
		Cmdline: "root=/dev/vda rw",
		Disks: []vmm.Disk{
			{ID: "root", Path: "/v/root.qcow2", Format: "qcow2"},
			{ID: "seed", Path: "/v/seed.img", Format: "raw", ReadOnly: true},
		},
		RunDir:      "/run/banger/vms/dev",
		AgentSocket: "/run/banger/vms/dev/agent.sock",
	}
}

func noVsock() bool  { return false }
func hasVsock() bool { return true }

func TestArgsTCGWithVirtioSerial(t *testing.T) {
	d := &Driver{VhostVsock: noVsock}
	got := strings.Join(d.Args(testSpec(), TCG), " ")
	want := "-M microvm -m 512 -accel tcg,thread=multi,tb-size=256 -cpu max -smp 2" +
		" -nodefaults -no-user-config -nographic -no-reboot" +
		" -kernel /k/vmlinuz -initrd /k/initrd.img" +
		" -append console=ttyS0 root=/dev/vda rw tsc_early_khz=2100000 tsc=reliable" +
		" -drive id=root,file=/v/root.qcow2,format=qcow2,if=none -device virtio-blk-device,drive=root" +
		" -drive id=seed,file=/v/seed.img,format=raw,if=none,readonly=on -device virtio-blk-device,drive=seed" +
		" -device virtio-rng-device" +
		" -chardev socket,id=agent,path=/run/banger/vms/dev/agent.sock,server=on,wait=off" +
		" -device virtio-serial-device -device virtserialport,chardev=agent,name=banger.agent" +
		" -chardev file,id=console,path=/run/banger/vms/dev/console.log,append=on -serial chardev:console" +
		" -qmp unix:/run/banger/vms/dev/qmp.sock,server=on,wait=off" +
		" -pidfile /run/banger/vms/dev/qemu.pid"
	if got != want {
		t.Errorf("Args:\n got %s\nwant %s", got, want)
	}
}

func TestArgsKVMWithNICsAndVsock(t *testing.T) {
	spec := testSpec()
	spec.NICs = []vmm.NIC{{ID: "net0", Tap: "bgr-tap0", MAC: "52:54:00:12:34:56"}}
	d := &Driver{VhostVsock: hasVsock}
	args := d.Args(spec, KVM)
	got := strings.Join(args, " ")
	for _, want := range []string{
		"-accel kvm -cpu host",
		"-append console=ttyS0 root=/dev/vda rw -drive",
		"-netdev tap,id=net0,ifname=bgr-tap0,script=no,downscript=no -device virtio-net-device,netdev=net0,mac=52:54:00:12:34:56",
		"-device vhost-vsock-device,guest-cid=",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Args lack %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"vhost=on", "virtio-serial-device", "-chardev socket", "tsc="} {
		if strings.Contains(got, unwanted) {
			t.Errorf("Args hold %q:\n%s", unwanted, got)
		}
	}
	if slices.Contains(args, "-daemonize") {
		t.Errorf("Args daemonize QEMU: %s", got)
	}
}

func TestArgsWithoutNICsHaveNoNetwork(t *testing.T) {
	got := strings.Join((&Driver{VhostVsock: noVsock}).Args(testSpec(), TCG), " ")
	if strings.Contains(got, "-netdev") || strings.Contains(got, "virtio-net") {
		t.Errorf("Args give a VM without NICs a network device:\n%s", got)
	}
}

func TestArgsEscapeCommasInPaths(t *testing.T) {
	spec := testSpec()
	spec.Disks = []vmm.Disk{{ID: "root", Path: "/v/a,b.img"}}
	got := strings.Join((&Driver{VhostVsock: noVsock}).Args(spec, TCG), " ")
	if !strings.Contains(got, "file=/v/a,,b.img,format=raw,if=none") {
		t.Errorf("Args do not escape a comma in a disk path, or miss the raw default:\n%s", got)
	}
}

func TestGuestCID(t *testing.T) {
	a, b := testSpec(), testSpec()
	b.RunDir = "/run/banger/vms/other"
	if GuestCID(a) < 3 || GuestCID(b) < 3 {
		t.Errorf("GuestCID = %d, %d; CIDs below 3 are reserved", GuestCID(a), GuestCID(b))
	}
	if GuestCID(a) == GuestCID(b) {
		t.Errorf("two RunDirs share CID %d", GuestCID(a))
	}
	a2 := testSpec()
	a2.RunDir += "/"
	if GuestCID(a) != GuestCID(a2) {
		t.Errorf("GuestCID depends on a trailing slash: %d vs %d", GuestCID(a), GuestCID(a2))
	}
}

func TestTCGClockFollowsTheHost(t *testing.T) {
	dir := t.TempDir()
	info := filepath.Join(dir, "cpuinfo")
	os.WriteFile(info, []byte("processor\t: 0\nmodel name\t: X\ncpu MHz\t\t: 2300.000\n\nprocessor\t: 1\ncpu MHz\t\t: 1200.000\n"), 0o644)
	if got := hostCPUkHz(info); got != 2300000 {
		t.Errorf("hostCPUkHz = %d, want 2300000", got)
	}
	if got := tcgCmdlineFor(2300000); got != " tsc_early_khz=2300000 tsc=reliable" {
		t.Errorf("tcgCmdlineFor = %q", got)
	}
	if got := tcgCmdlineFor(hostCPUkHz(filepath.Join(dir, "none"))); got != tcgCmdline {
		t.Errorf("unknown frequency: %q, want the default", got)
	}
}

func TestArgsMemoryFile(t *testing.T) {
	d := &Driver{VhostVsock: noVsock}
	for _, tc := range []struct {
		shared bool
		want   string
	}{
		{true, "-object memory-backend-file,id=microvm.ram,size=512M,mem-path=/t/mem,,x,share=on,x-use-canonical-path-for-ramblock-id=off -M microvm,memory-backend=microvm.ram -m 512 "},
		{false, "-object memory-backend-file,id=microvm.ram,size=512M,mem-path=/t/mem,,x,share=off,x-use-canonical-path-for-ramblock-id=off -M microvm,memory-backend=microvm.ram -m 512 "},
	} {
		spec := testSpec()
		spec.MemoryFile, spec.MemoryShared = "/t/mem,x", tc.shared
		if got := strings.Join(d.Args(spec, TCG), " "); !strings.HasPrefix(got, tc.want) {
			t.Errorf("Args with a memory file (shared %v):\n got %s\nwant it to start %s", tc.shared, got, tc.want)
		}
	}
}
