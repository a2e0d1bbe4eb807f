package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"banger/internal/atomicfile"
	"banger/internal/guestinit"
)

// setClock sets the guest's clock to the host's, so a restored guest
// does not live in the moment its template was saved.
func setClock(unixNano int64) error {
	if unixNano <= 0 {
		return nil
	}
	ts := unix.NsecToTimespec(unixNano)
	return unix.ClockSettime(unix.CLOCK_REALTIME, &ts)
}

// Linux's random ioctls (include/uapi/linux/random.h).
const (
	rndAddEntropy  = 0x40085203
	rndReseedCRNG  = 0x5207
	maxEntropySize = 512
)

// addEntropy mixes the host's bytes into the kernel's pool, credits them
// and reseeds, so the clone's random numbers part from the template's.
func addEntropy(b []byte) error {
	if len(b) == 0 {
		return errors.New("the host sent no entropy")
	}
	b = b[:min(len(b), maxEntropySize)]
	f, err := os.OpenFile("/dev/urandom", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
	info := make([]byte, 8+len(b))
	*(*int32)(unsafe.Pointer(&info[0])) = int32(len(b) * 8)
	*(*int32)(unsafe.Pointer(&info[4])) = int32(len(b))
	copy(info[8:], b)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), rndAddEntropy, uintptr(unsafe.Pointer(&info[0]))); errno != 0 {
		return fmt.Errorf("RNDADDENTROPY: %w", errno)
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), rndReseedCRNG, 0); errno != 0 {
		return fmt.Errorf("RNDRESEEDCRNG: %w", errno)
	}
	return nil
}

func newMachineID() error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return atomicfile.WriteFileLater("/etc/machine-id", []byte(hex.EncodeToString(b)+"\n"), 0o444)
}

// bootIDPath is the kernel's boot id. It is made once per boot and cannot
// be written, so a clone gets its own by a bind mount over it: readers of
// the file see the clone's id, while processes that read it before the
// snapshot (journald) keep the template's.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

func newBootID() error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	id := fmt.Sprintf("%x-%x-%x-%x-%x\n", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	if err := os.MkdirAll("/run/banger", 0o755); err != nil {
		return err
	}
	src := "/run/banger/boot_id"
	if err := os.WriteFile(src, []byte(id), 0o444); err != nil {
		return err
	}
	if err := unix.Mount(src, bootIDPath, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting over %s: %w", bootIDPath, err)
	}
	return nil
}

func setHostname(name string) error {
	if name == "" {
		return nil
	}
	if err := unix.Sethostname([]byte(name)); err != nil {
		return err
	}
	if err := atomicfile.WriteFileLater("/etc/hostname", []byte(name+"\n"), 0o644); err != nil {
		return err
	}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(strings.TrimRight(string(hosts), "\n"), "\n") {
		if strings.HasPrefix(line, "127.0.1.1") {
			line = "127.0.1.1\t" + name
		}
		out = append(out, line)
	}
	return atomicfile.WriteFileLater("/etc/hosts", []byte(strings.Join(out, "\n")+"\n"), 0o644)
}

func mountWorkDisk(dev string) error {
	if dev == "" {
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(dev); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no device %s", dev)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err := guestinit.MountWork(dev, "/root")
	return err
}
