package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
)

// watchMask is what a watch asks inotify for, on every directory.
const watchMask = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// errLostEvents ends a watch whose inotify queue overflowed.
var errLostEvents = &agentproto.Error{Code: agentproto.CodeFailed, Msg: "the watch lost events: the host read them too slowly and the guest's queue overflowed; watch again"}

// fsWatch sends what happens in a directory as JSON lines of FSEvent
// until the host ends the channel or the directory goes away.
func (sc *streamConn) fsWatch(req agentproto.Request) {
	path, err := sc.s.guestPath(req.Path)
	if err == nil {
		err = checkDir(path)
	}
	var w *watcher
	if err == nil {
		w, err = newWatcher(path, req.Recursive)
	}
	if err != nil {
		sc.send(fsFailure(req, err))
		return
	}
	ch := sc.open(req.ID)
	context.AfterFunc(ch.ctx, func() { w.f.Close() })
	if sc.send(success(req, agentproto.Response{})) != nil {
		ch.finish(agentproto.Frame{})
		return
	}
	err = w.run(func(ev agentproto.FSEvent) error { return ch.writeLine(ev) })
	if ch.ctx.Err() != nil {
		ch.finish(agentproto.Frame{}) // the host ended it
		return
	}
	endFS(ch, err)
}

// watcher follows one directory through inotify, and with recursive the
// directories below it, those made later too.
type watcher struct {
	f         *os.File
	root      string
	recursive bool
	rootWD    int32
	dirs      map[int32]string // watch descriptor: directory relative to root
}

func newWatcher(root string, recursive bool) (*watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", root, err)
	}
	// Non-blocking, the file goes through the runtime's poller, so Close
	// ends a Read in progress.
	w := &watcher{f: os.NewFile(uintptr(fd), "inotify"), root: root, recursive: recursive, dirs: map[int32]string{}}
	wd, err := w.add("")
	if err == nil && recursive {
		err = w.addBelow("", nil)
	}
	if err != nil {
		w.f.Close()
		return nil, err
	}
	w.rootWD = wd
	return w, nil
}

// add watches the directory rel.
func (w *watcher) add(rel string) (int32, error) {
	path := filepath.Join(w.root, rel)
	mask := uint32(watchMask)
	if rel != "" {
		mask |= unix.IN_DONT_FOLLOW
	}
	rc, err := w.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var wd int
	var werr error
	if err := rc.Control(func(fd uintptr) { wd, werr = unix.InotifyAddWatch(int(fd), path, mask) }); err != nil {
		return 0, err
	}
	if errors.Is(werr, unix.ENOSPC) {
		return 0, &agentproto.Error{Code: agentproto.CodePrecondition, Msg: fmt.Sprintf("watching %s: the guest allows no more watches; raise fs.inotify.max_user_watches or watch fewer directories", path)}
	}
	if werr != nil {
		return 0, &fs.PathError{Op: "watch", Path: path, Err: werr}
	}
	w.dirs[int32(wd)] = rel
	return int32(wd), nil
}

// addBelow watches the directories below rel. With emit, everything found
// there is reported as created: it was made before its directory's watch
// could see it.
func (w *watcher) addBelow(rel string, emit func(agentproto.FSEvent) error) error {
	start := filepath.Join(w.root, rel)
	return filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == start {
			return nil // gone or unreadable: nothing to watch there
		}
		sub, _ := filepath.Rel(w.root, p)
		if emit != nil {
			if err := emit(agentproto.FSEvent{Name: sub, Op: agentproto.FSCreate}); err != nil {
				return err
			}
		}
		if !d.IsDir() {
			return nil
		}
		if _, err := w.add(sub); err != nil {
			if _, full := errors.AsType[*agentproto.Error](err); full {
				return err // out of watches
			}
		}
		return nil
	})
}

// drop stops watching rel and the directories below it: they moved away.
func (w *watcher) drop(rel string) {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return
	}
	for wd, dir := range w.dirs {
		if dir == rel || strings.HasPrefix(dir, rel+"/") {
			rc.Control(func(fd uintptr) { unix.InotifyRmWatch(int(fd), uint32(wd)) })
			delete(w.dirs, wd)
		}
	}
}

// run reads events and hands them to emit until reading fails (the file
// is closed), emit fails, events are lost or the root goes away.
func (w *watcher) run(emit func(agentproto.FSEvent) error) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return err
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(buf[off:]))
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			size := int(binary.NativeEndian.Uint32(buf[off+12:]))
			off += unix.SizeofInotifyEvent
			name := strings.TrimRight(string(buf[off:min(off+size, n)]), "\x00")
			off += size
			if err := w.handle(wd, mask, name, emit); err != nil {
				return err
			}
		}
	}
}

// handle turns one inotify event into what the host hears, and keeps the
// watches of a recursive watch up to date.
func (w *watcher) handle(wd int32, mask uint32, name string, emit func(agentproto.FSEvent) error) error {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		return errLostEvents
	}
	dir, ok := w.dirs[wd]
	if !ok {
		return nil // a watch already dropped
	}
	if mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
		if wd == w.rootWD {
			return fmt.Errorf("the watched directory %s was removed or moved away: %w", w.root, fs.ErrNotExist)
		}
		if mask&unix.IN_IGNORED != 0 {
			delete(w.dirs, wd)
		}
		return nil
	}
	rel := filepath.Join(dir, name)
	op := eventOp(mask)
	if op == "" {
		return nil
	}
	if err := emit(agentproto.FSEvent{Name: rel, Op: op}); err != nil {
		return err
	}
	if !w.recursive || mask&unix.IN_ISDIR == 0 {
		return nil
	}
	switch op {
	case agentproto.FSCreate:
		if _, err := w.add(rel); err != nil {
			return ignoreGone(err)
		}
		return w.addBelow(rel, emit)
	case agentproto.FSRename:
		w.drop(rel)
	}
	return nil
}

// ignoreGone drops the error of a directory that went before it could be
// watched.
func ignoreGone(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	return err
}

func eventOp(mask uint32) string {
	switch {
	case mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
		return agentproto.FSCreate
	case mask&unix.IN_MODIFY != 0:
		return agentproto.FSWrite
	case mask&unix.IN_DELETE != 0:
		return agentproto.FSRemove
	case mask&unix.IN_MOVED_FROM != 0:
		return agentproto.FSRename
	case mask&unix.IN_ATTRIB != 0:
		return agentproto.FSChmod
	}
	return ""
}
