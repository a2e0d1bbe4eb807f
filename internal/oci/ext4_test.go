package oci

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
)

// debugfs runs one debugfs request against an image, skipping the test
// when e2fsprogs is missing.
func debugfs(t *testing.T, img, request string) string {
	t.Helper()
	bin, err := exec.LookPath("debugfs")
	if err != nil {
		bin = "/usr/sbin/debugfs"
		if _, err := os.Stat(bin); err != nil {
			bin = "/sbin/debugfs"
		}
	}
	out, err := exec.Command(bin, "-R", request, img).Output()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v", request, err)
	}
	return string(out)
}

func requireE2fsprogs(t *testing.T) {
	t.Helper()
	if _, err := findMkfs(); err != nil {
		t.Skip("mkfs.ext4 not found: install e2fsprogs to test building ext4 images")
	}
	for _, p := range []string{"debugfs", "/usr/sbin/debugfs", "/sbin/debugfs"} {
		if _, err := exec.LookPath(p); err == nil {
			return
		}
	}
	t.Skip("debugfs not found: install e2fsprogs to inspect built ext4 images")
}

// listing maps entry names to octal modes from `debugfs ls -p`, whose
// lines look like /ino/mode/uid/gid/name/size/.
func listing(t *testing.T, img, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(debugfs(t, img, "ls -p "+dir), "\n") {
		f := strings.Split(line, "/")
		if len(f) < 7 || f[5] == "." || f[5] == ".." {
			continue
		}
		out[f[5]] = f[2]
	}
	return out
}

func keys(m map[string]string) []string {
	var k []string
	for name := range m {
		k = append(k, name)
	}
	slices.Sort(k)
	return k
}

func TestPullBuildsExt4(t *testing.T) {
	requireE2fsprogs(t)
	r := startRegistry(t)
	o := options(t, testImage(t, r), t.TempDir())
	res, err := Pull(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.HasInit || res.HasSSHD {
		t.Errorf("HasInit, HasSSHD = %v, %v; want false, false", res.HasInit, res.HasSSHD)
	}
	if root := os.Geteuid() == 0; root != (len(res.Warnings) == 0) {
		t.Errorf("warnings = %q with euid %d: want none as root, an ownership warning otherwise", res.Warnings, os.Geteuid())
	}
	if fi, err := os.Stat(o.Out); err != nil || fi.Size() != res.SizeBytes {
		t.Fatalf("stat %s: %v (want %d bytes)", o.Out, err, res.SizeBytes)
	}
	if got := keys(listing(t, o.Out, "/etc")); !slices.Equal(got, []string{"b", "banger", "hostname", "resolv.conf"}) {
		t.Errorf("/etc = %v, want a gone, b kept, banger's files added", got)
	}
	if got := keys(listing(t, o.Out, "/dir")); !slices.Equal(got, []string{"z"}) {
		t.Errorf("/dir = %v, want [z]", got)
	}
	bin := listing(t, o.Out, "/bin")
	if bin["tool"] != "100755" || bin["sh"] != "120777" {
		t.Errorf("/bin = %v, want tool 100755 and sh a symlink", bin)
	}
	if got := listing(t, o.Out, "/usr/local/lib/banger")["banger-vsock-agent"]; got != "100755" {
		t.Errorf("agent mode = %q, want 100755", got)
	}
	if got := listing(t, o.Out, "/")["root"]; got != "040700" {
		t.Errorf("/root mode = %q, want 040700", got)
	}
	if st := debugfs(t, o.Out, "stat /sbin/init"); !strings.Contains(st, "Type: symlink") || !strings.Contains(st, `"`+AgentPath+`"`) {
		t.Errorf("/sbin/init is not a symlink to the agent:\n%s", st)
	}
	if st := debugfs(t, o.Out, "stat /bin/sh"); !strings.Contains(st, `"tool"`) {
		t.Errorf("/bin/sh lost its target:\n%s", st)
	}
	var cfg ImageConfig
	if err := json.Unmarshal([]byte(debugfs(t, o.Out, "cat "+ConfigPath)), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.WorkDir != "/dir" || cfg.User != "1000:1000" || !slices.Equal(cfg.Entrypoint, []string{"/bin/tool"}) || !slices.Equal(cfg.Cmd, []string{"--serve"}) {
		t.Errorf("config = %+v", cfg)
	}
	if res.Config.WorkDir != cfg.WorkDir {
		t.Errorf("Result.Config = %+v, file has %+v", res.Config, cfg)
	}
}

func TestPullKeepsImageInit(t *testing.T) {
	r := startRegistry(t)
	layer := layer(t, layerTar(t, dir("usr/"), dir("usr/sbin/"), file("usr/sbin/init", 0o755, "init"),
		file("usr/sbin/sshd", 0o755, "sshd"), symlink("sbin", "usr/sbin")), compression.GZip)
	ref := r.push(t, "banger/systemd", layer)
	var args []string
	o := options(t, ref, t.TempDir())
	o.Runner = fakeMkfs(&args)
	res, err := Pull(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.HasInit || !res.HasSSHD {
		t.Errorf("HasInit, HasSSHD = %v, %v; want true, true", res.HasInit, res.HasSSHD)
	}
}
