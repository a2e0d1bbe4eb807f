package mcp

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestListFilesGivesEntriesAndErrorsAnAgentCanActOn(t *testing.T) {
	h := newHarness(t, 0)
	var sb sandboxOut
	h.ok("sandbox_create", nil, &sb)
	var out listFilesOut
	h.ok("sandbox_list_files", map[string]any{"sandbox": sb.Name}, &out)
	want := []fileEntry{{"notes.txt", "file", 5}, {"src", "dir", 4096}, {"src/link", "symlink", 7}}
	if out.Dir != "/root" || !slices.Equal(out.Entries, want[:2]) || out.Truncated {
		t.Errorf("listing = %+v; want %v in /root", out, want[:2])
	}
	h.ok("sandbox_list_files", map[string]any{"sandbox": sb.Name, "path": "/", "depth": 2}, &out)
	want = []fileEntry{{"notes.txt", "file", 5}, {"src", "dir", 4096}, {"src/link", "symlink", 7}}
	if out.Dir != "/" || !slices.Equal(out.Entries, want) {
		t.Errorf("listing of / at depth 2 = %+v; want %v", out, want)
	}
	h.ok("sandbox_list_files", map[string]any{"sandbox": sb.Name, "path": "big"}, &out)
	if len(out.Entries) != maxListEntries || !out.Truncated || !strings.Contains(out.Note, "list a subdirectory") {
		t.Errorf("listing of 2500 files: %d entries, truncated %v, note %q; want %d and a note", len(out.Entries), out.Truncated, out.Note, maxListEntries)
	}
	h.fails("sandbox_list_files", map[string]any{"sandbox": sb.Name, "path": "nodir"}, "not a directory")
	h.fails("sandbox_list_files", map[string]any{"sandbox": sb.Name, "path": "old"}, "ls -la /root/old")
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
