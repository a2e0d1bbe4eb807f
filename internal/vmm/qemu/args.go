package qemu

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"banger/internal/vmm"
	"banger/internal/vmm/consolelog"
)

// Files QEMU keeps in a VM's RunDir.
const (
	consoleLogName = consolelog.Name
	qemuLogName    = "qemu.log"
	qmpSocketName  = "qmp.sock"
	pidFileName    = "qemu.pid"
)

// agentPortName is the virtio-serial port the guest agent opens, as
// /dev/virtio-ports/banger.agent, where vhost-vsock is missing.
const agentPortName = "banger.agent"

// tcgCmdline keeps a TCG guest from hanging while it calibrates its clock
// against the PIT. Under TCG the guest's TSC ticks at the host's rate, so
// DetectAccel puts the host's frequency here: a wrong one makes the
// guest's clock run fast or slow by the ratio.
const tcgCmdline = " tsc_early_khz=2100000 tsc=reliable"

// tcgCmdlineFor is tcgCmdline with the host's TSC frequency, when known.
func tcgCmdlineFor(khz int) string {
	if khz <= 0 {
		return tcgCmdline
	}
	return fmt.Sprintf(" tsc_early_khz=%d tsc=reliable", khz)
}

// hostCPUkHz reads the first "cpu MHz" of a cpuinfo file: the TSC's rate
// on machines without frequency scaling (virtual machines among them),
// and near it elsewhere. 0 when unknown.
func hostCPUkHz(cpuinfo string) int {
	b, err := os.ReadFile(cpuinfo)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "cpu MHz" {
			continue
		}
		mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || mhz <= 0 {
			return 0
		}
		return int(mhz*1000 + 0.5)
	}
	return 0
}

// Accel is how QEMU runs guest code.
type Accel struct {
	Name         string // "kvm" or "tcg"
	CPU          string // "host" or "max"
	ExtraCmdline string // appended to the kernel command line
}

// KVM and TCG are the two accelerators banger uses.
var (
	KVM = Accel{Name: "kvm", CPU: "host"}
	TCG = Accel{Name: "tcg", CPU: "max", ExtraCmdline: tcgCmdline}
)

// DetectAccel picks KVM when Intel's or AMD's KVM module is loaded and
// /dev/kvm opens read-write, else TCG. PVM hosts (kvm_pvm) get TCG: their
// KVM runs only kernels built as PVM guests, which Debian's are not.
func DetectAccel() Accel {
	for _, m := range []string{"kvm_intel", "kvm_amd"} {
		if _, err := os.Stat("/sys/module/" + m); err != nil {
			continue
		}
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
			f.Close()
			return KVM
		}
	}
	tcg := TCG
	tcg.ExtraCmdline = tcgCmdlineFor(hostCPUkHz("/proc/cpuinfo"))
	return tcg
}

// hostHasVhostVsock reports whether the host offers vhost-vsock.
func hostHasVhostVsock() bool {
	_, err := os.Stat("/dev/vhost-vsock")
	return err == nil
}

func (a Accel) accelArg() string {
	if a.Name == "tcg" {
		return "tcg,thread=multi,tb-size=256"
	}
	return a.Name
}

// Args is QEMU's full command line for spec under accelerator a.
func (d *Driver) Args(spec vmm.Spec, a Accel) []string {
	args := append(memoryArgs(spec),
		"-accel", a.accelArg(),
		"-cpu", a.CPU,
		"-smp", strconv.Itoa(spec.VCPU),
		"-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
		"-kernel", spec.Kernel,
		"-initrd", spec.Initrd,
		"-append", strings.TrimSpace("console=ttyS0 "+spec.Cmdline)+a.ExtraCmdline,
	)
	for _, disk := range spec.Disks {
		args = append(args, diskArgs(disk)...)
	}
	for _, nic := range spec.NICs {
		args = append(args, nicArgs(nic)...)
	}
	args = append(args, "-device", "virtio-rng-device")
	args = append(args, d.agentArgs(spec)...)
	return append(args,
		// Appending, so that bangerd can rotate the log by truncating it.
		"-chardev", "file,id=console,path="+escapeOpt(filepath.Join(spec.RunDir, consoleLogName))+",append=on",
		"-serial", "chardev:console",
		"-qmp", "unix:"+escapeOpt(qmpPath(spec))+",server=on,wait=off",
		"-pidfile", pidPath(spec),
	)
}

// ramID names the guest's RAM in QEMU's migration stream. It is the name
// QEMU gives the microvm machine's RAM when it makes it itself, so that
// state saved by a VM with a MemoryFile (a snapshot of a clone, say)
// loads into one without, and the other way round.
const ramID = "microvm.ram"

// memoryArgs are the machine and its RAM: anonymous memory, or
// spec.MemoryFile mapped shared or private (see vmm.Spec).
func memoryArgs(spec vmm.Spec) []string {
	size := strconv.Itoa(spec.MemoryMiB)
	if spec.MemoryFile == "" {
		return []string{"-M", "microvm", "-m", size}
	}
	share := "off"
	if spec.MemoryShared {
		share = "on"
	}
	backend := fmt.Sprintf("memory-backend-file,id=%s,size=%sM,mem-path=%s,share=%s,x-use-canonical-path-for-ramblock-id=off",
		ramID, size, escapeOpt(spec.MemoryFile), share)
	return []string{"-object", backend, "-M", "microvm,memory-backend=" + ramID, "-m", size}
}

func diskArgs(disk vmm.Disk) []string {
	format := disk.Format
	if format == "" {
		format = "raw"
	}
	drive := fmt.Sprintf("id=%s,file=%s,format=%s,if=none", disk.ID, escapeOpt(disk.Path), format)
	if disk.ReadOnly {
		drive += ",readonly=on"
	}
	return []string{"-drive", drive, "-device", "virtio-blk-device,drive=" + disk.ID}
}

// nicArgs gives a NIC without a tap an unconnected backend. It never sets vhost=on: it crashes QEMU 7.2 on hosts without
// vhost-net.
func nicArgs(nic vmm.NIC) []string {
	backend := fmt.Sprintf("tap,id=%s,ifname=%s,script=no,downscript=no", nic.ID, nic.Tap)
	if nic.Tap == "" {
		// Unplugged: a hub port with nothing else on its hub.
		backend = fmt.Sprintf("hubport,id=%s,hubid=0", nic.ID)
	}
	return []string{
		"-netdev", backend,
		"-device", fmt.Sprintf("virtio-net-device,netdev=%s,mac=%s", nic.ID, nic.MAC),
	}
}

// agentArgs gives the guest agent its channel: vhost-vsock where the host
// has it, else a virtio-serial port backed by the unix socket
// spec.AgentSocket.
func (d *Driver) agentArgs(spec vmm.Spec) []string {
	hasVsock := d.VhostVsock
	if hasVsock == nil {
		hasVsock = hostHasVhostVsock
	}
	if hasVsock() {
		return []string{"-device", fmt.Sprintf("vhost-vsock-device,guest-cid=%d", GuestCID(spec))}
	}
	return []string{
		"-chardev", "socket,id=agent,path=" + escapeOpt(spec.AgentSocket) + ",server=on,wait=off",
		"-device", "virtio-serial-device",
		"-device", "virtserialport,chardev=agent,name=" + agentPortName,
	}
}

// GuestCID is the vsock context id of spec's guest: 3 plus the FNV-1a hash
// of its RunDir, modulo 2^31. CIDs 0-2 are reserved and the RunDir is
// unique per VM on a host, so two VMs collide only by hash collision, in
// which case QEMU refuses to start the second (its CID is taken).
func GuestCID(spec vmm.Spec) uint32 {
	h := fnv.New32a()
	h.Write([]byte(filepath.Clean(spec.RunDir)))
	return 3 + h.Sum32()%(1<<31)
}

// escapeOpt doubles commas, which QEMU's option syntax uses as a separator.
func escapeOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

func qmpPath(spec vmm.Spec) string { return filepath.Join(spec.RunDir, qmpSocketName) }
func pidPath(spec vmm.Spec) string { return filepath.Join(spec.RunDir, pidFileName) }
