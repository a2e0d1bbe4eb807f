package vmm

import (
	"os"
	"path/filepath"
	"testing"
)

// statFixture is a QEMU's /proc/PID/stat whose command name holds ") "
// and spaces: utime 1234, stime 567.
const statFixture = "4242 (qemu) (x y) S 1 4242 4242 0 -1 4194624 52000 0 12 0 1234 567 0 0 20 0 5 0 881234 2147483648 40960 18446744073709551615\n"

const statusFixture = `Name:	qemu-system-x86
VmPeak:	 2300000 kB
VmRSS:	  163840 kB
RssAnon:	  150000 kB
Threads:	5
`

const rollupFixture = `55d0c0a00000-7ffd3e1fe000 ---p 00000000 00:00 0                          [rollup]
Rss:              163840 kB
Pss:              150016 kB
Pss_Anon:         140000 kB
`

func TestParseStatCPU(t *testing.T) {
	if n, err := parseStatCPU([]byte(statFixture)); err != nil || n != 1234+567 {
		t.Errorf("parseStatCPU = %d, %v; want %d", n, err, 1234+567)
	}
	for _, bad := range []string{"", "4242 qemu S 1", "4242 (qemu) S 1 2 3", "4242 (q) S 1 1 1 0 -1 0 0 0 0 0 x y 0"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("parseStatCPU(%q) succeeded; want an error", bad)
		}
	}
}

func TestKBField(t *testing.T) {
	if n, err := kBField([]byte(statusFixture), "VmRSS"); err != nil || n != 163840<<10 {
		t.Errorf("VmRSS = %d, %v; want %d", n, err, 163840<<10)
	}
	if n, err := kBField([]byte(rollupFixture), "Pss"); err != nil || n != 150016<<10 {
		t.Errorf("Pss = %d, %v; want %d (not Pss_Anon's)", n, err, 150016<<10)
	}
	if _, err := kBField([]byte("Name:\tkthreadd\n"), "VmRSS"); err == nil {
		t.Error("VmRSS of a kernel thread's status succeeded; want an error")
	}
}

func TestReadUsage(t *testing.T) {
	proc := t.TempDir()
	dir := filepath.Join(proc, "4242")
	for name, text := range map[string]string{"stat": statFixture, "status": statusFixture, "smaps_rollup": rollupFixture} {
		writeFixture(t, filepath.Join(dir, name), text)
	}
	u, err := ReadUsage(proc, 4242)
	if err != nil {
		t.Fatal(err)
	}
	if u != (Usage{CPUTicks: 1801, RSS: 163840 << 10, PSS: 150016 << 10}) {
		t.Errorf("ReadUsage = %+v", u)
	}
	os.Remove(filepath.Join(dir, "smaps_rollup"))
	if u, err := ReadUsage(proc, 4242); err != nil || u.PSS != 0 || u.RSS == 0 {
		t.Errorf("ReadUsage without smaps_rollup = %+v, %v; want RSS and no PSS", u, err)
	}
	if _, err := ReadUsage(proc, 4243); err == nil {
		t.Error("ReadUsage of a missing pid succeeded; want an error")
	}
}

func TestReadUsageOfThisProcess(t *testing.T) {
	u, err := ReadUsage("/proc", os.Getpid())
	if err != nil || u.RSS == 0 {
		t.Errorf("ReadUsage of the test itself = %+v, %v; want its RSS", u, err)
	}
}

func writeFixture(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
