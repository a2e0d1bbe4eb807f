package config

import (
	"strings"
	"testing"
)

func TestResolveVMDefaults(t *testing.T) {
	type want struct {
		vcpu     int
		vcpuFrom Provenance
		mem      int
		memFrom  Provenance
		disk     Size
		diskFrom Provenance
	}
	tests := []struct {
		name string
		vd   VMDefaults
		host Host
		want want
	}{
		{"8 cores 32 GiB", VMDefaults{}, Host{CPUs: 8, MemoryBytes: 32 << 30},
			want{2, FromHost, 4096, FromHost, 8 * GiB, FromHost}},
		{"16 cores 64 GiB", VMDefaults{}, Host{CPUs: 16, MemoryBytes: 64 << 30},
			want{4, FromHost, 8192, FromHost, 8 * GiB, FromHost}},
		{"64 cores 512 GiB is capped", VMDefaults{}, Host{CPUs: 64, MemoryBytes: 512 << 30},
			want{4, FromHost, 8192, FromHost, 8 * GiB, FromHost}},
		{"2 cores 24 GiB", VMDefaults{}, Host{CPUs: 2, MemoryBytes: 24 << 30},
			want{1, FromBuiltin, 3072, FromHost, 8 * GiB, FromHost}},
		{"4 cores 4 GiB", VMDefaults{}, Host{CPUs: 4, MemoryBytes: 4 << 30},
			want{1, FromHost, 1024, FromBuiltin, 8 * GiB, FromHost}},
		{"unknown host", VMDefaults{}, Host{},
			want{1, FromBuiltin, 1024, FromBuiltin, 8 * GiB, FromBuiltin}},
		{"unknown memory", VMDefaults{}, Host{CPUs: 8},
			want{2, FromHost, 1024, FromBuiltin, 8 * GiB, FromHost}},
		{"config vcpu only", VMDefaults{VCPU: intPtr(6)}, Host{CPUs: 16, MemoryBytes: 64 << 30},
			want{6, FromConfig, 8192, FromHost, 8 * GiB, FromHost}},
		{"config memory only", VMDefaults{MemoryMiB: intPtr(512)}, Host{},
			want{1, FromBuiltin, 512, FromConfig, 8 * GiB, FromBuiltin}},
		{"config disk only", VMDefaults{DiskSize: sizePtr(20 * GiB)}, Host{CPUs: 8, MemoryBytes: 32 << 30},
			want{2, FromHost, 4096, FromHost, 20 * GiB, FromConfig}},
		{"config all", VMDefaults{VCPU: intPtr(1), MemoryMiB: intPtr(128), DiskSize: sizePtr(MinDiskSize)}, Host{CPUs: 16, MemoryBytes: 64 << 30},
			want{1, FromConfig, 128, FromConfig, MinDiskSize, FromConfig}},
	}
	for _, tt := range tests {
		r := ResolveVMDefaults(tt.vd, tt.host)
		got := want{r.VCPU.V, r.VCPU.From, r.MemoryMiB.V, r.MemoryMiB.From, r.DiskSize.V, r.DiskSize.From}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSpecLine(t *testing.T) {
	want := "spec: 4 vcpu \u00b7 8192 MiB \u00b7 8G disk"
	if got := SpecLine(4, 8192, 8*GiB); got != want {
		t.Errorf("SpecLine = %q, want %q", got, want)
	}
}

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"MemTotal:       32795084 kB\nMemFree:  1 kB\n", 32795084 * 1024},
		{"MemFree: 1 kB\nMemTotal: 1024 kB\n", 1 << 20},
		{"MemTotal: lots kB\n", 0},
		{"MemTotal: 1024 MB\n", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := parseMemTotal(strings.NewReader(tt.in)); got != tt.want {
			t.Errorf("parseMemTotal(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestDetectHost(t *testing.T) {
	h := DetectHost()
	if h.CPUs < 1 || h.MemoryBytes < 0 {
		t.Errorf("DetectHost() = %+v", h)
	}
}
