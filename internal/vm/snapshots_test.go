package vm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"banger/internal/errdefs"
	"banger/internal/paths"
	"banger/internal/vmm"
)

func writeSnapshotMeta(t *testing.T, s *Manager, sn SnapshotInfo) {
	t.Helper()
	dir := s.dirs.SnapshotDir(sn.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sn)
	if err := os.WriteFile(filepath.Join(dir, snapshotMeta), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A snapshot record whose disk names are paths is refused before any of
// them is joined into a path to copy from or to.
func TestSnapshotDiskNamesArePlainFiles(t *testing.T) {
	s := onDirs(paths.Dirs{State: t.TempDir()})
	good := func(name string) SnapshotInfo {
		return SnapshotInfo{
			Format: snapshotFormat, Name: name, VM: "box",
			Disks:   []string{"upper.ext4", "work.ext4"},
			Machine: vmm.Spec{Disks: []vmm.Disk{{ID: "work", Path: filepath.Join(s.layout.vmDir("box"), "work.ext4")}}},
		}
	}
	writeSnapshotMeta(t, s, good("fine"))
	if _, err := s.GetSnapshot("fine"); err != nil {
		t.Fatalf("a well-formed snapshot: %v", err)
	}
	for name, mutate := range map[string]func(*SnapshotInfo){
		"dotdot":    func(sn *SnapshotInfo) { sn.Disks[1] = "../../../escape" },
		"absolute":  func(sn *SnapshotInfo) { sn.Disks[1] = "/etc/passwd" },
		"subdir":    func(sn *SnapshotInfo) { sn.Disks[1] = "a/work.ext4" },
		"parent":    func(sn *SnapshotInfo) { sn.Disks[1] = ".." },
		"empty":     func(sn *SnapshotInfo) { sn.Disks[1] = "" },
		"meta":      func(sn *SnapshotInfo) { sn.Disks[1] = snapshotMeta },
		"twice":     func(sn *SnapshotInfo) { sn.Disks[1] = sn.Disks[0] },
		"machine":   func(sn *SnapshotInfo) { sn.Machine.Disks[0].Path = "/etc/shadow" },
		"unclean":   func(sn *SnapshotInfo) { sn.Machine.Disks[0].Path = s.layout.vmDir("box") + "/../../../../x" },
		"relative":  func(sn *SnapshotInfo) { sn.Machine.Disks[0].Path = "work.ext4" },
		"backslash": func(sn *SnapshotInfo) { sn.Disks[1] = `..\work.ext4` },
	} {
		sn := good("bad-" + name)
		mutate(&sn)
		writeSnapshotMeta(t, s, sn)
		if _, err := s.GetSnapshot(sn.Name); errdefs.KindOf(err) != errdefs.KindFailedPrecondition {
			t.Errorf("%s: loading a snapshot with disks %q and machine disk %q: %v, want it refused as damaged", name, sn.Disks, sn.Machine.Disks[0].Path, err)
		}
	}
	if got := s.Snapshots(); len(got) != 1 || got[0].Name != "fine" {
		t.Errorf("snapshot list = %+v, want only the well-formed one", got)
	}
}
