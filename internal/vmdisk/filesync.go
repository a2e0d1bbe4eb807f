package vmdisk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/progress"
)

// item is one file, directory or symlink of the work disk.
type item struct {
	rel   string      // slash path from the disk's top (the guest's /root)
	mode  fs.FileMode // type and permission bits
	src   string      // host file whose content a regular file copies
	extra []byte      // appended to src's content (or the whole of it)
	size  int64       // bytes of content
	link  string      // a symlink's target
	entry int         // index of the file_sync entry, -1 for banger's own
}

// workPlan is the work disk's content, checked, before it is written.
type workPlan struct {
	items   map[string]*item
	entries []config.FileSync
	trees   []Tree
	prog    progress.Func // receives a note for each file left out
}

// planWork checks every file_sync entry and lists what the disk will hold.
// Later entries replace earlier ones' files and merge into their
// directories; the public key is added to whatever authorized_keys they
// sync.
func planWork(o WorkOptions) (*workPlan, error) {
	p := &workPlan{items: map[string]*item{}, entries: o.FileSync, prog: o.Progress}
	for i, e := range o.FileSync {
		if err := p.addEntry(i, e, o); err != nil {
			return nil, fmt.Errorf("file_sync entry %d (host %q, guest %q): %w", i+1, e.Host, e.Guest, err)
		}
	}
	if len(o.AuthorizedKeys) > 0 {
		if err := p.addKeys(o.AuthorizedKeys); err != nil {
			return nil, err
		}
	}
	if err := p.addTrees(o.Trees); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *workPlan) addEntry(i int, e config.FileSync, o WorkOptions) error {
	host, err := hostPath(e.Host, o.HostHome)
	if err != nil {
		return err
	}
	rel, err := guestRel(e.Guest)
	if err != nil {
		return err
	}
	mode, hasMode := e.FileMode()
	if e.Mode != "" && !hasMode {
		return errdefs.InvalidArgument("mode %q is not an octal permission mode such as \"0600\" or \"755\"", e.Mode)
	}
	fi, err := os.Stat(host)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errdefs.InvalidArgument("host path %s does not exist: create it or remove the entry", host)
	case err != nil:
		return fmt.Errorf("reading the host path: %w", err)
	case fi.Mode().IsRegular():
		if !hasMode {
			mode = config.DefaultFileMode
		}
		return p.add(&item{rel: rel, mode: mode, src: host, size: fi.Size(), entry: i})
	case fi.IsDir():
		// Walk the directory a symlinked entry points to, not the link.
		if host, err = filepath.EvalSymlinks(host); err != nil {
			return fmt.Errorf("reading the host path: %w", err)
		}
		return p.addTree(i, host, rel, mode, hasMode)
	}
	return errdefs.InvalidArgument("host path %s is a %s: only files and directories can be synced", host, kindOf(fi.Mode()))
}

// addTree adds the directory host and what it holds under rel. Files keep
// their modes unless hasMode, when they get fileMode; symlinks must point
// inside the tree.
func (p *workPlan) addTree(i int, host, rel string, fileMode fs.FileMode, hasMode bool) error {
	return filepath.WalkDir(host, func(hp string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", hp, err)
		}
		sub, _ := filepath.Rel(host, hp)
		r := path.Join(rel, filepath.ToSlash(sub))
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("reading %s: %w", hp, err)
		}
		it := &item{rel: r, mode: fi.Mode(), entry: i}
		switch t := fi.Mode().Type(); {
		case t == fs.ModeDir:
			it.mode = fs.ModeDir | fi.Mode().Perm()
		case t == 0:
			it.src, it.size = hp, fi.Size()
			if hasMode {
				it.mode = fileMode
			}
		case t == fs.ModeSymlink:
			if it.link, err = os.Readlink(hp); err != nil {
				return fmt.Errorf("reading %s: %w", hp, err)
			}
			if escapes(filepath.ToSlash(sub), it.link) {
				return errdefs.InvalidArgument("symlink %s points to %q, outside the synced directory %s, where the guest would not find it: sync its target instead, or make the link relative and inside the directory", hp, it.link, host)
			}
		default:
			p.prog.Note(progressStep, fmt.Sprintf("skipping %s: a %s cannot be copied to a disk", hp, kindOf(fi.Mode())))
			return nil
		}
		return p.add(it)
	})
}

// addKeys makes /root/.ssh/authorized_keys hold keys, after whatever a
// file_sync entry put there.
func (p *workPlan) addKeys(keys []byte) error {
	if !strings.HasSuffix(string(keys), "\n") {
		keys = append(keys[:len(keys):len(keys)], '\n')
	}
	ssh := &item{rel: ".ssh", mode: fs.ModeDir | 0o700, entry: -1}
	if prev := p.items[".ssh"]; prev != nil && prev.mode.IsDir() {
		ssh.entry = prev.entry
	}
	if err := p.add(ssh); err != nil {
		return err
	}
	it := &item{rel: ".ssh/authorized_keys", mode: 0o600, extra: keys, size: int64(len(keys)), entry: -1}
	if prev := p.items[it.rel]; prev != nil {
		if !prev.mode.IsRegular() {
			return p.conflict(it, prev)
		}
		it.src, it.extra, it.size = prev.src, append([]byte("\n"), keys...), prev.size+1+int64(len(keys))
	}
	return p.add(it)
}

// add puts it into the plan, with any missing parent directories (mode
// 0700). A directory cannot replace a file or the other way round.
func (p *workPlan) add(it *item) error {
	var parents []string
	for d := path.Dir(it.rel); d != "."; d = path.Dir(d) {
		parents = append(parents, d)
	}
	for i := len(parents) - 1; i >= 0; i-- {
		prev := p.items[parents[i]]
		if prev == nil {
			p.items[parents[i]] = &item{rel: parents[i], mode: fs.ModeDir | 0o700, entry: it.entry}
		} else if !prev.mode.IsDir() {
			return p.conflict(&item{rel: parents[i], mode: fs.ModeDir, entry: it.entry}, prev)
		}
	}
	if prev := p.items[it.rel]; prev != nil && prev.mode.IsDir() != it.mode.IsDir() {
		return p.conflict(it, prev)
	}
	p.items[it.rel] = it
	return nil
}

func (p *workPlan) conflict(it, prev *item) error {
	return errdefs.InvalidArgument("cannot make /root/%s a %s: %s put a %s there; make the guest paths distinct",
		it.rel, kindOf(it.mode), p.owner(prev), kindOf(prev.mode))
}

// owner names what put it into the plan.
func (p *workPlan) owner(it *item) string {
	if it.entry < 0 {
		return "banger's own files"
	}
	e := p.entries[it.entry]
	return fmt.Sprintf("file_sync entry %d (host %q, guest %q)", it.entry+1, e.Host, e.Guest)
}

// hostPath expands a leading ~ with home and checks the result is
// absolute.
func hostPath(s, home string) (string, error) {
	if s == "~" || strings.HasPrefix(s, "~/") {
		if home == "" {
			return "", errdefs.InvalidArgument("host path %q starts with ~ but the host home directory is unknown: use an absolute path", s)
		}
		s = home + s[1:]
	}
	if strings.IndexByte(s, 0) >= 0 || !filepath.IsAbs(s) {
		return "", errdefs.InvalidArgument("host path %q must be absolute or start with ~/", s)
	}
	return filepath.Clean(s), nil
}

// guestRel checks a file_sync guest path, which must name something under
// the guest's /root, written ~/... or /root/..., and returns it relative to
// /root. It refuses /root itself, paths that climb out of it with "..",
// and the paths banger keeps for itself.
func guestRel(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "~/")
	if !ok {
		rest, ok = strings.CutPrefix(s, "/root/")
	}
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "", errdefs.InvalidArgument("guest path %q contains a NUL byte", s)
	case !ok:
		return "", errdefs.InvalidArgument("guest path %q is outside the VM's work disk: start it with ~/ or /root/, like \"~/.aws\"", s)
	}
	rel := path.Clean(strings.TrimLeft(rest, "/"))
	top, _, _ := strings.Cut(rel, "/")
	switch {
	case rel == ".":
		return "", errdefs.InvalidArgument("guest path %q names /root itself: name a file or directory under it, like \"~/.aws\"", s)
	case top == "..":
		return "", errdefs.InvalidArgument("guest path %q climbs out of /root with \"..\": name a path under ~/", s)
	case top == WorkMarker || top == "lost+found":
		return "", errdefs.InvalidArgument("guest path %q is reserved on the work disk: pick another name", s)
	}
	return rel, nil
}

// escapes reports whether a symlink at rel (a slash path inside a synced
// tree) whose text is target resolves outside the tree. It judges the
// text alone, as the guest would resolve it: absolute targets escape.
func escapes(rel, target string) bool {
	if path.IsAbs(target) || target == "" {
		return true
	}
	r := path.Join(path.Dir(rel), target)
	return r == ".." || strings.HasPrefix(r, "../")
}

// kindOf names a file type for messages.
func kindOf(m fs.FileMode) string {
	switch t := m.Type(); {
	case t == 0:
		return "file"
	case t == fs.ModeDir:
		return "directory"
	case t == fs.ModeSymlink:
		return "symlink"
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
