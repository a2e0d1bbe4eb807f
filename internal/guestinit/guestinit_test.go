package guestinit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunRefusesWhenNotPID1(t *testing.T) {
	err := Run()
	if err == nil || !strings.Contains(err.Error(), "PID 1") {
		t.Fatalf("Run() outside PID 1 = %v, want an error about PID 1", err)
	}
}

func TestWaitForDeviceTimesOut(t *testing.T) {
	start := time.Now()
	err := waitForDevice(filepath.Join(t.TempDir(), "vda"), 30*time.Millisecond, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not appear") {
		t.Fatalf("waitForDevice on a missing path = %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("waitForDevice took %v for a 30ms timeout", elapsed)
	}
}

func TestWaitForDeviceRejectsNonBlock(t *testing.T) {
	f := filepath.Join(t.TempDir(), "vda")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := waitForDevice(f, time.Second, time.Millisecond); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Fatalf("waitForDevice on a regular file = %v", err)
	}
	if err := waitForDevice("/dev/null", time.Second, time.Millisecond); err == nil {
		t.Fatal("waitForDevice accepted a character device")
	}
}

func TestLoggerFallsBackToConsole(t *testing.T) {
	var console strings.Builder
	l := &logger{console: &console}
	l.Infof("mounted %s", "/dev/vda")
	if got, want := console.String(), "banger-init: mounted /dev/vda\n"; got != want {
		t.Errorf("console got %q, want %q", got, want)
	}
	var kmsg strings.Builder
	console.Reset()
	l.kmsg = &kmsg
	l.Errorf("boom")
	if got, want := kmsg.String(), "<3>banger-init: boom\n"; got != want || console.Len() != 0 {
		t.Errorf("kmsg got %q (want %q), console got %q (want nothing)", got, want, console.String())
	}
}
