// Package kernel fetches the guest kernels banger boots: it resolves and
// downloads Debian's kernel package from the mirror the host already uses,
// trusting it only through a chain of hashes from the suite's InRelease
// file, signed by a key of Debian's archive keyring, down to the .deb. It
// unpacks the package, extracts the uncompressed vmlinux Firecracker needs
// from the bzImage QEMU boots, and lays the result out with an initramfs
// and the modules tree. It also tells kernel image formats apart for
// `banger kernel register`.
package kernel
