package mcp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListFilesParsesEntriesAndRefusesAFile(t *testing.T) {
	h := newHarness(t, 0)
	var sb sandboxOut
	h.ok("sandbox_create", nil, &sb)
	var out listFilesOut
	h.ok("sandbox_list_files", map[string]any{"sandbox": sb.Name}, &out)
	want := []fileEntry{{"notes.txt", "file", 5}, {"src", "dir", 4096}, {"src/link", "symlink", 7}}
	if out.Dir != "/root" || len(out.Entries) != 3 || out.Entries[0] != want[0] || out.Entries[1] != want[1] || out.Entries[2] != want[2] {
		t.Errorf("listing = %+v; want %v in /root", out, want)
	}
	h.fails("sandbox_list_files", map[string]any{"sandbox": sb.Name, "path": "nodir"}, "not a directory")
	h.fails("sandbox_list_files", map[string]any{"sandbox": sb.Name, "depth": 9}, "depth 9")
}

func TestSnapshotNamesItAndExportWritesThePatch(t *testing.T) {
	h := newHarness(t, 0)
	var bare, ws sandboxOut
	h.ok("sandbox_create", nil, &bare)
	h.ok("sandbox_create", map[string]any{"workspace": "/src/app"}, &ws)
	var sn snapshotOut
	h.ok("sandbox_snapshot", map[string]any{"sandbox": bare.Name, "name": "ready"}, &sn)
	if sn.Snapshot != "ready" {
		t.Errorf("snapshot = %+v; want it named ready", sn)
	}
	h.fails("sandbox_export_changes", map[string]any{"sandbox": bare.Name}, "has no workspace")
	h.fails("sandbox_export_changes", map[string]any{"sandbox": ws.Name, "output": "x.patch"}, "absolute host path")
	var ex exportOut
	h.ok("sandbox_export_changes", map[string]any{"sandbox": ws.Name}, &ex)
	if !strings.Contains(ex.Patch, "diff --git a/x b/x") || ex.Base != strings.Repeat("ab", 20) {
		t.Errorf("export = %+v; want the uncommitted diff and the base", ex)
	}
	file := filepath.Join(t.TempDir(), "ws.patch")
	var toFile exportOut
	h.ok("sandbox_export_changes", map[string]any{"sandbox": ws.Name, "output": file}, &toFile)
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "diff --git a/x b/x") || toFile.Patch != "" || toFile.Output != file {
		t.Errorf("export to %s wrote %q (%v), returned %+v; want the patch in the file only", file, b, err, toFile)
	}
}
