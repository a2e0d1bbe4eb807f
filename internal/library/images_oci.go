package library

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"banger/internal/errdefs"
	"banger/internal/oci"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
)

// defaultOCIKernel boots OCI images, which carry no kernel of their own.
const defaultOCIKernel = "debian-6.1-cloud"

// pullOCI pulls a registry image and turns it into a bootable ext4 image.
func (l *Library) pullOCI(ctx context.Context, ref string, prog progress.Func) (store.Image, error) {
	parsed, err := oci.ParseRef(ref)
	if err != nil {
		return store.Image{}, err
	}
	name := ociImageName(parsed.Context().RepositoryStr(), parsed.Identifier())
	defer l.locks.Lock("image/" + name)()
	if _, err := l.store.GetImage(ctx, name); err == nil {
		return store.Image{}, errdefs.AlreadyExists("image %q already exists: remove it with `banger image rm %s` to pull %s again", name, name, ref)
	}
	k, err := l.PullKernel(ctx, defaultOCIKernel, prog)
	if err != nil {
		return store.Image{}, err
	}
	agentBin, err := paths.AgentBinary()
	if err != nil {
		return store.Image{}, err
	}
	work, done, err := l.scratch("oci-")
	if err != nil {
		return store.Image{}, err
	}
	defer done()
	if err := os.MkdirAll(l.dirs.OCICache(), 0o700); err != nil {
		return store.Image{}, fmt.Errorf("creating OCI cache: %w", err)
	}
	out := filepath.Join(work, "rootfs.ext4")
	res, err := oci.Pull(ctx, oci.PullOptions{Ref: ref, CacheDir: l.dirs.OCICache(), WorkDir: work, Out: out, AgentBin: agentBin,
		Insecure: isLoopback(parsed.Context().RegistryStr()), Progress: prog})
	if err != nil {
		return store.Image{}, err
	}
	if !res.HasSSHD {
		prog.Note("oci", "this image has no sshd: reach it through the guest agent")
	}
	return l.registerFile(ctx, store.Image{Name: name, Source: "oci://" + strings.TrimPrefix(ref, "oci://"), Kernel: k.Name, Digest: res.Digest}, out, true)
}

// isLoopback reports whether a registry is on this machine, where plain
// http is allowed (a local registry, or a test's).
func isLoopback(registry string) bool {
	host, _, err := net.SplitHostPort(registry)
	if err != nil {
		host = registry
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

// ociImageName derives a local image name from a repository and tag:
// "library/debian" + "bookworm" gives "debian-bookworm".
func ociImageName(repo, tag string) string {
	base := repo[strings.LastIndex(repo, "/")+1:]
	tag = strings.TrimPrefix(tag, "sha256:")
	if len(tag) > 12 && !strings.ContainsAny(tag, ".-_") {
		tag = tag[:12]
	}
	var b strings.Builder
	for _, c := range strings.ToLower(base + "-" + tag) {
		switch {
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_':
			b.WriteRune(c)
		default:
			b.WriteRune('-')
		}
	}
	name := strings.Trim(b.String(), "-._")
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}
