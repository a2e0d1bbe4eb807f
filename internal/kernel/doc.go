// Package kernel fetches the guest kernels banger boots: it resolves and
// downloads Debian's kernel package from the mirror the host already uses,
// unpacks it, extracts the uncompressed vmlinux Firecracker needs from the
// bzImage QEMU boots, and lays the result out with an initramfs and the
// modules tree. It also tells kernel image formats apart for
// `banger kernel register`.
package kernel
