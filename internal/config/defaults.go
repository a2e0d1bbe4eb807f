package config

import (
	"fmt"
	"runtime"
)

// Provenance says where a resolved VM default came from.
type Provenance string

// The layers a VM default can come from, strongest first.
const (
	FromConfig  Provenance = "config"  // set in [vm_defaults]
	FromHost    Provenance = "auto"    // derived from the host's CPUs and memory
	FromBuiltin Provenance = "builtin" // the floor below
)

// The built-in floors. They apply when the host is unknown and when the
// host heuristic comes out lower.
const (
	BuiltinVCPU      = 1
	BuiltinMemoryMiB = 1024
	BuiltinDiskSize  = 8 * GiB
)

// Caps on what the host heuristic hands out, so a big workstation does not
// give every sandbox a big slice of it.
const (
	maxAutoVCPU      = 4
	maxAutoMemoryMiB = 8192
	autoDiskSize     = 8 * GiB
)

// Value is a resolved setting and where it came from.
type Value[T any] struct {
	V    T
	From Provenance
}

// ResolvedDefaults is the sizing a new VM gets when no flag overrides it.
type ResolvedDefaults struct {
	VCPU      Value[int]
	MemoryMiB Value[int]
	DiskSize  Value[Size]
}

// ResolveVMDefaults picks each VM default from three layers, field by field:
//
//  1. config: a field set in [vm_defaults] always wins.
//  2. auto: otherwise a share of the host: a quarter of its CPUs, at most 4,
//     and an eighth of its memory, at most 8192 MiB; the disk is 8G whenever
//     anything about the host is known.
//  3. builtin: BuiltinVCPU, BuiltinMemoryMiB and BuiltinDiskSize, used when
//     the host value is unknown (zero) or when the host share falls below
//     them, so a 2-CPU host gets 1 vcpu (not 0) and a 4 GiB host gets
//     1024 MiB (not 512).
func ResolveVMDefaults(vd VMDefaults, h Host) ResolvedDefaults {
	return ResolvedDefaults{
		VCPU:      resolve(vd.VCPU, min(h.CPUs/4, maxAutoVCPU), BuiltinVCPU),
		MemoryMiB: resolve(vd.MemoryMiB, int(min(h.MemoryBytes/8/int64(MiB), maxAutoMemoryMiB)), BuiltinMemoryMiB),
		DiskSize:  resolve(vd.DiskSize, autoDisk(h), BuiltinDiskSize),
	}
}

func autoDisk(h Host) Size {
	if h.CPUs <= 0 && h.MemoryBytes <= 0 {
		return 0
	}
	return autoDiskSize
}

// resolve applies the three layers to one field; auto below floor, which
// includes an unknown host's zero, yields the floor.
func resolve[T int | Size](set *T, auto, floor T) Value[T] {
	switch {
	case set != nil:
		return Value[T]{V: *set, From: FromConfig}
	case auto >= floor:
		return Value[T]{V: auto, From: FromHost}
	}
	return Value[T]{V: floor, From: FromBuiltin}
}

// SpecLine formats a VM's sizing the way `vm run` announces it, e.g.
// "spec: 4 vcpu · 8192 MiB · 8G disk".
func SpecLine(vcpu, memoryMiB int, disk Size) string {
	return fmt.Sprintf("spec: %d vcpu \u00b7 %d MiB \u00b7 %s disk", vcpu, memoryMiB, disk)
}

// Host is what banger knows about the machine it runs on. A zero field is
// unknown.
type Host struct {
	CPUs        int
	MemoryBytes int64
}

// DetectHost reads the CPU count and total memory of this machine. Memory
// is 0 when /proc/meminfo cannot be read.
func DetectHost() Host {
	return Host{CPUs: runtime.NumCPU(), MemoryBytes: readMemTotal("/proc/meminfo")}
}
