package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"banger/internal/atomicfile"
	"banger/internal/errdefs"
	"banger/internal/keylock"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/vmm"
	"banger/internal/vmname"
)

// A snapshot is a running VM saved whole: its memory and device state and
// copies of its writable disks, root and work disk alike. VMs created from
// it go on from that moment, each under an identity of its own (see
// docs/adr/0006-warm-starts.md). Unlike a warm template, a snapshot keeps
// the work disk: what was in /root, and every process, comes along.
const (
	snapshotFormat = "banger-snapshot/1"
	snapshotMeta   = paths.SnapshotMetaName
	snapshotState  = paths.StateName
	// machineFile, in a running VM's run dir, is the machine its VMM was
	// started as: a snapshot must be restored into the same one.
	machineFile = paths.MachineName
	// prepareSnapshotWait bounds the guest's flush before a snapshot.
	prepareSnapshotWait = 30 * time.Second
)

// SnapshotInfo describes a saved snapshot, as snapshot.json records it:
// what the API shows of it, and what restoring it needs.
type SnapshotInfo struct {
	Format    string    `json:"format"`
	Name      string    `json:"name"`
	VM        string    `json:"vm"` // the VM it was taken of
	Image     string    `json:"image"`
	Kernel    string    `json:"kernel"`
	VCPU      int       `json:"vcpu"`
	MemoryMiB int       `json:"memory_mib"`
	DiskBytes int64     `json:"disk_bytes"`
	VMM       string    `json:"vmm"`
	Accel     string    `json:"accel"`
	Bytes     int64     `json:"bytes"` // on disk
	CreatedAt time.Time `json:"created_at"`
	// AccelKey is accelFor at save time: a snapshot restores only on the
	// same accelerator (and, under emulation, the same guest clock rate).
	AccelKey string `json:"accel_key"`
	RootMode string `json:"root_mode"`
	// Files fingerprints the image and kernel files the disks rest on.
	Files string `json:"files"`
	// Machine is the VM as its VMM ran it when saved: command line, NIC
	// MACs and disk files.
	Machine vmm.Spec `json:"machine"`
	// Disks are the files in the snapshot's directory, each restored to the
	// file of that name in the new VM's directory.
	Disks []string `json:"disks"`
}

// snapshotStore holds the saved snapshots: it reads, lists and removes
// them (Snapshot saves one, snapshotRestoreSteps restore one).
type snapshotStore struct {
	dirs  paths.Dirs
	log   *slog.Logger
	locks keylock.Map // "snapshot/NAME"
}

// GetSnapshot returns snapshot name, with a hint when there is none.
func (m *Manager) GetSnapshot(name string) (SnapshotInfo, error) { return m.snapshots.get(name) }

func (m *Manager) Snapshots() []SnapshotInfo { return m.snapshots.list() }

func (m *Manager) DeleteSnapshot(name string) error { return m.snapshots.remove(name) }

func (ss *snapshotStore) get(name string) (SnapshotInfo, error) {
	if err := vmname.ValidateResource("snapshot", name); err != nil {
		return SnapshotInfo{}, err
	}
	var sn SnapshotInfo
	b, err := os.ReadFile(filepath.Join(ss.dirs.SnapshotDir(name), snapshotMeta))
	if errors.Is(err, os.ErrNotExist) {
		return sn, errdefs.NotFound("no snapshot named %s: `banger snapshot list` shows them", name)
	}
	if err != nil {
		return sn, err
	}
	if err := json.Unmarshal(b, &sn); err != nil || sn.Format != snapshotFormat {
		return sn, errdefs.FailedPrecondition("snapshot %s is damaged or from another version of banger: delete it with `banger snapshot rm %s`", name, name)
	}
	if err := ss.checkFiles(sn); err != nil {
		return sn, errdefs.FailedPrecondition("snapshot %s is damaged: %v: delete it with `banger snapshot rm %s`", name, err, name)
	}
	return sn, nil
}

// checkSnapshotFiles refuses a snapshot whose record names files outside
// its place: each disk must be a plain file name in the snapshot's
// directory, and each disk of the saved machine a file under the state
// dir, where banger keeps every VM's and image's disks.
func (ss *snapshotStore) checkFiles(sn SnapshotInfo) error {
	var seen []string
	for _, d := range sn.Disks {
		if !plainFileName(d) || d == snapshotState || d == snapshotMeta || slices.Contains(seen, d) {
			return fmt.Errorf("disk name %q is not a plain file name of its own", d)
		}
		seen = append(seen, d)
	}
	state := filepath.Clean(ss.dirs.State) + string(filepath.Separator)
	for _, d := range sn.Machine.Disks {
		if !filepath.IsAbs(d.Path) || filepath.Clean(d.Path) != d.Path || !strings.HasPrefix(d.Path, state) {
			return fmt.Errorf("machine disk %q is not a file under %s", d.Path, state)
		}
	}
	return nil
}

// plainFileName reports whether name names a file in a directory itself,
// not a path: no separator, not empty, "." or "..".
func plainFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

func (ss *snapshotStore) list() []SnapshotInfo {
	entries, _ := os.ReadDir(ss.dirs.SnapshotsDir())
	var out []SnapshotInfo
	for _, e := range entries {
		if vmname.ValidateResource("snapshot", e.Name()) != nil {
			continue // a partial one being written, or not ours
		}
		if sn, err := ss.get(e.Name()); err == nil {
			out = append(out, sn)
		}
	}
	slices.SortFunc(out, func(a, b SnapshotInfo) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// filesKey fingerprints the image and kernel files a VM's disks and
// memory rest on, so that a changed file is noticed before restoring.
func filesKey(im store.Image, k store.Kernel) string {
	var out string
	for _, p := range []string{im.RootfsPath, k.Path, k.InitrdPath} {
		if st, err := os.Stat(p); err == nil {
			out += fmt.Sprintf("%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
		} else {
			out += p + " missing\n"
		}
	}
	return out
}

// saveMachine records the machine a VMM was started as, in its run dir.
func saveMachine(spec vmm.Spec) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(spec.RunDir, machineFile), b, 0o600)
}

func (ss *snapshotStore) remove(name string) error {
	if _, err := ss.get(name); err != nil && errdefs.KindOf(err) != errdefs.KindFailedPrecondition {
		return err
	}
	defer ss.locks.Lock("snapshot/" + name)()
	return os.RemoveAll(ss.dirs.SnapshotDir(name))
}

// users names the snapshots that rest on image or kernel.
func (ss *snapshotStore) users(image, kernel string) []string {
	var out []string
	for _, sn := range ss.list() {
		if (image != "" && sn.Image == image) || (kernel != "" && sn.Kernel == kernel) {
			out = append(out, "snapshot "+sn.Name)
		}
	}
	return out
}

// partialSnapshot reports whether name is a snapshot being written (see
// Snapshot).
func partialSnapshot(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".partial")
}

// sweepPartial removes snapshots that were being written when
// the daemon stopped. The VM they were taken of is resumed by adopt.
func (ss *snapshotStore) sweepPartial() {
	entries, _ := os.ReadDir(ss.dirs.SnapshotsDir())
	for _, e := range entries {
		if !partialSnapshot(e.Name()) {
			continue
		}
		dir := filepath.Join(ss.dirs.SnapshotsDir(), e.Name())
		if err := os.RemoveAll(dir); err != nil {
			ss.log.Warn("removing an unfinished snapshot", "dir", dir, "err", err)
			continue
		}
		ss.log.Info("removed an unfinished snapshot", "dir", dir)
	}
}
