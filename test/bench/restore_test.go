package main

import (
	"slices"
	"testing"
	"time"
)

func TestParseRestored(t *testing.T) {
	log := `time=2026-12-07T10:00:00.000Z level=INFO msg="sshd answers from the host" vm=warm-0 waited=40ms
time=2026-12-07T10:00:01.000Z level=INFO msg="restored from saved state" vm=warm-0 network=12ms restore=1.5s identity=2.25s
time=2026-12-07T10:00:02.000Z level=INFO msg="restored from saved state" vm=broken network=12ms`
	got := parseRestored(log)
	want := [3]time.Duration{12 * time.Millisecond, 1500 * time.Millisecond, 2250 * time.Millisecond}
	if len(got) != 1 || got["warm-0"] != want {
		t.Errorf("parseRestored = %v, want only warm-0: %v", got, want)
	}
}

func TestRestoreMachineBaselineArgv(t *testing.T) {
	m := restoreMachine{argv: []string{
		"qemu-system-x86_64",
		"-object", "memory-backend-file,id=microvm.ram,size=3013M,mem-path=/s/templates/k1/memory,share=off",
		"-M", "microvm,memory-backend=microvm.ram",
		"-drive", "id=root,file=/s/images/a/rootfs.ext4,format=raw,if=none,readonly=on",
		"-drive", "id=upper,file=/s/vms/box/upper.ext4,format=raw,if=none",
		"-drive", "id=work,file=/s/vms/box/work.ext4,format=raw,if=none",
		"-netdev", "tap,id=net0,ifname=bg-1234abcd,script=no,downscript=no",
		"-qmp", "unix:/r/vm/box/qmp.sock,server=on,wait=off",
		"-pidfile", "/r/vm/box/qemu.pid",
		"-incoming", "defer",
	}}
	if err := m.parse(); err != nil {
		t.Fatal(err)
	}
	if m.templateDir != "/s/templates/k1" || m.qmp != "/r/vm/box/qmp.sock" || len(m.drives) != 2 {
		t.Errorf("parsed %+v", m)
	}
	argv := m.baselineArgv("/b/run", "/b/disks")
	for _, want := range []string{
		"id=upper,file=/b/disks/upper.ext4,format=raw,if=none",
		"id=root,file=/s/images/a/rootfs.ext4,format=raw,if=none,readonly=on",
		"hubport,id=net0,hubid=0",
		"unix:/b/run/qmp.sock,server=on,wait=off",
		"/b/run/qemu.pid",
	} {
		if !slices.Contains(argv, want) {
			t.Errorf("baseline argv lacks %q: %q", want, argv)
		}
	}
	m = restoreMachine{argv: m.argv[:len(m.argv)-2]}
	if err := m.parse(); err == nil {
		t.Error("a QEMU started without -incoming defer parsed as a restore")
	}
}
