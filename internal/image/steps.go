package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"banger/internal/errdefs"
	"banger/internal/paths"
	"banger/internal/privilege"
)

// hostTools are the programs a build runs on the host, and the package
// that has each.
var hostTools = []struct{ name, pkg string }{
	{"debootstrap", "debootstrap"},
	{"mkfs.ext4", "e2fsprogs"},
	{"chroot", "coreutils"},
}

// checkHost fails early, with advice, when the build cannot work here.
func (b *builder) checkHost(ctx context.Context) error {
	if err := b.checkRoot(ctx); err != nil {
		return fmt.Errorf("debootstrap must run as root: %w", err)
	}
	for _, t := range hostTools {
		if b.findTool(t.name) == "" {
			return errdefs.FailedPrecondition("%s is not installed: install the %s package", t.name, t.pkg)
		}
	}
	if _, err := os.Stat(b.keyring); err != nil {
		return errdefs.FailedPrecondition("Debian's archive keyring %s is missing, so packages cannot be verified: install the debian-archive-keyring package", b.keyring)
	}
	return nil
}

// findTool looks for a program on PATH and in the sbin directories a
// user's PATH often lacks, or returns "".
func findTool(name string) string {
	p, _ := paths.LookTool(name)
	return p
}

// fetchMise downloads mise before the long debootstrap, so a registry
// problem shows at once.
func (b *builder) fetchMise(ctx context.Context) error {
	const step = "fetching mise"
	switch {
	case !b.o.Entry.Recipe.Mise:
		b.prog.Note(step, "this image does not include mise")
		return nil
	case b.o.NPMRegistry == "":
		b.prog.Note(step, "no npm registry configured: building without mise")
		b.hash = b.o.Entry.Recipe.Hash(append(b.extra, "without-mise")...)
		return nil
	}
	rel, err := resolveMise(ctx, b.o.HTTP, b.o.NPMRegistry)
	if err != nil {
		return err
	}
	b.prog.Note(step, "mise "+rel.Version)
	dst := filepath.Join(b.scratch, "mise")
	if err := fetchMise(ctx, b.o.HTTP, rel, dst, b.prog, step); err != nil {
		return err
	}
	b.mise = dst
	return nil
}

// debootstrap makes the base system. dpkg's path excludes go in first,
// so packages dpkg installs leave their docs out.
func (b *builder) debootstrap(ctx context.Context) error {
	r := b.o.Runner
	excludes := filepath.Join(b.scratch, "dpkg-excludes")
	if err := os.WriteFile(excludes, []byte(dpkgExcludes()), 0o644); err != nil {
		return err
	}
	cfgDir := filepath.Join(b.tree, filepath.Dir(dpkgExcludesPath))
	if err := run(ctx, r, nil, nil, "install", "-d", "-m", "0755", b.tree, filepath.Join(b.tree, "etc"), filepath.Dir(cfgDir), cfgDir); err != nil {
		return err
	}
	if err := run(ctx, r, nil, nil, "install", "-m", "0644", excludes, filepath.Join(b.tree, dpkgExcludesPath)); err != nil {
		return err
	}
	notes := &debootstrapNotes{prog: b.prog, step: "debootstrap"}
	args := debootstrapArgs(b.o.Entry.Recipe, b.keyring, b.o.DebCache, b.tree, b.o.Mirror)
	return run(ctx, r, nil, notes.line, tool("debootstrap"), args...)
}

// installFiles writes banger's files, the agent, mise and the kernel's
// modules into the tree.
func (b *builder) installFiles(ctx context.Context) error {
	files := append(configFiles(),
		dir("/usr/local/lib/banger", 0o755),
		treeFile{Path: agentPath, Mode: 0o755, Src: b.o.AgentBin},
		file("/etc/systemd/system/"+agentUnit, 0o644, agentService()),
	)
	if b.mise != "" {
		files = append(files,
			treeFile{Path: misePath, Mode: 0o755, Src: b.mise},
			file("/etc/profile.d/banger-mise.sh", 0o644, miseProfile()))
	}
	if b.o.ModulesDir != "" {
		mods, err := modulesFiles(b.o.ModulesDir)
		if err != nil {
			return err
		}
		b.prog.Note("installing banger's files", fmt.Sprintf("%d kernel module files for %s", len(mods), filepath.Base(b.o.ModulesDir)))
		files = append(files, mods...)
	}
	return installFiles(ctx, b.o.Runner, b.tree, files)
}

// configure enables, disables and masks units, indexes the kernel modules
// when the kernel did not, and locks root's password. Everything runs
// offline in the chroot, without /proc.
func (b *builder) configure(ctx context.Context) error {
	if err := b.setUnits(ctx); err != nil {
		return err
	}
	if b.o.ModulesDir != "" {
		// The guest's modprobe reads kmod's binary indexes, which a
		// modules.dep alone does not give: without them it finds no module
		// (Docker's nf_tables and bridge, say). The image's own depmod
		// writes them all.
		_, depErr := os.Stat(filepath.Join(b.o.ModulesDir, "modules.dep"))
		if depErr != nil || b.hasDepmod() {
			if err := b.chroot(ctx, "depmod", "-a", filepath.Base(b.o.ModulesDir)); err != nil {
				return err
			}
		}
	}
	// No password: console logins are impossible and ssh takes keys only.
	// "*" rather than "!", which sshd without PAM reads as a locked account.
	return b.chroot(ctx, "usermod", "-p", "*", "root")
}

// setUnits applies the recipe's unit lists, in the order enable, disable,
// mask (validate keeps each unit in one list). banger's own units are
// always enabled.
func (b *builder) setUnits(ctx context.Context) error {
	rec := b.o.Entry.Recipe
	for _, step := range []struct {
		verb  string
		units []string
	}{
		{"enable", append(slices.Clone(rec.Enable), agentUnit, sshKeygenUnit)},
		{"disable", rec.Disable},
		{"mask", rec.Mask},
	} {
		if len(step.units) == 0 {
			continue
		}
		if err := b.chroot(ctx, append([]string{"systemctl", step.verb, "--quiet"}, step.units...)...); err != nil {
			return err
		}
	}
	return nil
}

// hasDepmod reports whether the tree has kmod's depmod.
func (b *builder) hasDepmod() bool {
	for _, p := range []string{"usr/sbin/depmod", "sbin/depmod", "usr/bin/depmod", "bin/depmod"} {
		if _, err := os.Lstat(filepath.Join(b.tree, p)); err == nil {
			return true
		}
	}
	return false
}

func (b *builder) trim(ctx context.Context) error {
	return b.chroot(ctx, "sh", "-c", trimScript())
}

// mkfs makes the filesystem as root (the tree has root-only files) and
// hands the file to the user banger runs as.
func (b *builder) mkfs(ctx context.Context) error {
	if err := os.Remove(b.tmp); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := run(ctx, b.o.Runner, nil, nil, tool("mkfs.ext4"), mkfsArgs(b.tree, b.tmp, b.o.Entry.Recipe.Size)...); err != nil {
		return err
	}
	if privilege.IsRoot() {
		return nil
	}
	owner := strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid())
	return run(ctx, b.o.Runner, nil, nil, "chown", owner, b.tmp)
}

// chroot runs a command in the tree with a clean environment.
func (b *builder) chroot(ctx context.Context, args ...string) error {
	return run(ctx, b.o.Runner, nil, nil, tool("chroot"), chrootArgs(b.tree, args...)...)
}

// chrootArgs are chroot's arguments to run args in tree with a clean,
// fixed environment (the host's locale and PATH mean nothing there).
func chrootArgs(tree string, args ...string) []string {
	return append([]string{tree, "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LC_ALL=C"}, args...)
}

// tool is the path of a host tool, found where a user's PATH may not
// look, or its bare name.
func tool(name string) string {
	if p := findTool(name); p != "" {
		return p
	}
	return name
}
