package main

import (
	"net/netip"
	"testing"
)

func TestParseQEMUCommandLine(t *testing.T) {
	q := rawQEMU{guest: "172.16.0.2", argv: []string{
		"qemu-system-x86_64", "-M", "microvm",
		"-append", "console=ttyS0 root=/dev/vda ro ip=172.16.0.2::172.16.0.1:255.255.255.0:box:eth0:off:10.0.0.53 tsc=reliable",
		"-drive", "id=root,file=/s/images/a,,b/rootfs.ext4,format=raw,if=none,readonly=on",
		"-drive", "id=upper,file=/s/vms/box/upper.ext4,format=raw,if=none",
		"-drive", "id=work,file=/s/vms/box/work.ext4,format=raw,if=none",
		"-netdev", "tap,id=net0,ifname=bg-1234abcd,script=no,downscript=no",
	}}
	if err := q.parse(); err != nil {
		t.Fatal(err)
	}
	if q.image != "/s/images/a,b/rootfs.ext4" || q.diskDir != "/s/vms/box" || q.tap != "bg-1234abcd" || q.gateway != netip.MustParsePrefix("172.16.0.1/24") {
		t.Errorf("parsed %+v", q)
	}
	q = rawQEMU{guest: q.guest, argv: q.argv[:3]}
	if err := q.parse(); err == nil {
		t.Error("a command line with no disks parsed")
	}
}

func TestSamples(t *testing.T) {
	s := samples{3e9, 1e9, 2e9}
	if got := s.String(); got != "2.00s (3.00s 1.00s 2.00s)" {
		t.Errorf("String = %q", got)
	}
	s = append(s, 4e9, 5e8)
	if got := s.String(); got != "2.00s (500ms-4.00s, 5 runs)" {
		t.Errorf("String = %q", got)
	}
}
