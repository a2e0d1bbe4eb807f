package server

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"banger/internal/eventually"
	"banger/internal/vmm/consolelog"
)

// A running VM's console log is rotated once it passes console_log_max,
// and `vm logs -f` follows it across the rotation without losing output.
func TestConsoleLogRotatesAndLogsFollow(t *testing.T) {
	c, a := execDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := a.vms.ConsoleLog(ctx, "box")
	if err != nil {
		t.Fatal(err)
	}
	path, limit := cl.Path, cl.Limit
	vmm, err := consolelog.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vmm.Close()
	io.WriteString(vmm, "boot\n")

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(c.VMLogs(ctx, "box", true, pw)) }()
	var got strings.Builder
	readUntil := func(want string) {
		t.Helper()
		buf := make([]byte, 64<<10)
		for !strings.HasSuffix(got.String(), want) {
			n, err := pr.Read(buf)
			if err != nil {
				t.Fatalf("vm logs -f ended (%v) after %d bytes (%.40q), before %q", err, got.Len(), got.String(), want)
			}
			got.Write(buf[:n])
		}
	}
	readUntil("boot\n")

	// The guest writes past the limit; the VM's watcher rotates the log.
	big := strings.Repeat("x", 1023) + "\n"
	for range (limit >> 10) + 1 {
		io.WriteString(vmm, big)
	}
	a.vms.Adopt(ctx) // watches the running VM, as a restarted daemon does
	eventually.True(t, func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Size() == 0
	})
	if st, err := os.Stat(consolelog.Rotated(path)); err != nil || st.Size() > limit+int64(len(big))+5 {
		t.Fatalf("rotated log: %v, %v", st, err)
	}
	io.WriteString(vmm, "after the rotation\n")
	readUntil("after the rotation\n")
	want := "boot\n" + strings.Repeat(big, int(limit>>10)+1) + "after the rotation\n"
	if got.String() != want {
		t.Errorf("vm logs -f sent %d bytes; want the %d the guest wrote", got.Len(), len(want))
	}
}
