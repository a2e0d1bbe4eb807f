package tarcopy

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var fileTime = time.Date(2021, 6, 7, 8, 9, 10, 0, time.UTC)

// fileScene makes a destination directory for one case: d (a directory,
// holding the directory d/f), f (a file), lf (a link to f), ld (a link
// to d).
func fileScene(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "d", "f"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("old"), 0o600))
	must(t, os.Symlink("f", filepath.Join(dir, "lf")))
	must(t, os.Symlink("d", filepath.Join(dir, "ld")))
	return dir
}

// sceneOf lists what is under dir: names, modes and contents.
func sceneOf(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		fi, _ := d.Info()
		rel, _ := filepath.Rel(dir, p)
		content, _ := os.ReadFile(p)
		if fi.Mode()&fs.ModeSymlink != 0 || fi.IsDir() {
			content = nil
		}
		b.WriteString(rel + " " + fi.Mode().String() + " " + string(content) + "\n")
		return nil
	})
	return b.String()
}

func TestExtractFilePlacesAsExtractDoes(t *testing.T) {
	f := File{Name: "f", Size: 3, Mode: 0o750, ModTime: fileTime}
	for _, dest := range []string{".", "./", "d", "d/", "ld", "f", "lf", "new", "new/", "no/such/f", "f/", "f/x"} {
		tarDir, fileDir := fileScene(t), fileScene(t)
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o750, Size: 3, ModTime: fileTime})
		tw.Write([]byte("new"))
		tw.Close()
		_, terr := Extract(&buf, tarDir+"/"+dest, roomy)
		_, ferr := ExtractFile(strings.NewReader("new"), fileDir+"/"+dest, f, roomy)
		tmsg, fmsg := errText(terr, tarDir), errText(ferr, fileDir)
		if tmsg != fmsg || errors.Is(terr, fs.ErrNotExist) != errors.Is(ferr, fs.ErrNotExist) {
			t.Errorf("DEST %q: ExtractFile said %q, Extract %q", dest, fmsg, tmsg)
		}
		if ts, fs := sceneOf(t, tarDir), sceneOf(t, fileDir); ts != fs {
			t.Errorf("DEST %q: ExtractFile left\n%s\nExtract left\n%s", dest, fs, ts)
		}
	}
}

func errText(err error, dir string) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), dir, "DIR")
}

func TestExtractFileKeepsTimeAndDropsSpecialBits(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "run.sh")
	f := File{Name: "run.sh", Size: 2, Mode: 0o755 | fs.ModeSetuid, ModTime: fileTime}
	if _, err := ExtractFile(strings.NewReader("hi"), dest, f, roomy); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dest)
	if err != nil || fi.Mode() != 0o755 || !fi.ModTime().Equal(fileTime) {
		t.Errorf("run.sh: %v, %v; want mode 0755 without setuid, the sender's time", fi, err)
	}
}

func TestExtractFileThatFailsLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	must(t, os.WriteFile(dest, []byte("old"), 0o644))
	broken := io.MultiReader(strings.NewReader("partial"), iotestErr{})
	_, err := ExtractFile(broken, dest, File{Name: "f", Size: 100, Mode: 0o644}, roomy)
	if !errors.Is(err, errSender) {
		t.Errorf("a failing sender: %v; want its error as it is", err)
	}
	small := Options{Limits: Limits{MaxBytes: 4, MaxEntries: 10}, Where: "on the host"}
	_, err = ExtractFile(strings.NewReader("more than four"), dest, File{Name: "f", Size: 1, Mode: 0o644}, small)
	if !errors.Is(err, ErrNoSpace) {
		t.Errorf("a sender past its claimed size and the limit: %v; want ErrNoSpace", err)
	}
	_, err = ExtractFile(strings.NewReader(""), dest, File{Name: "f", Size: 1 << 60}, small)
	if !errors.Is(err, ErrNoSpace) {
		t.Errorf("a claimed exabyte: %v; want ErrNoSpace", err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "old" {
		t.Errorf("the failed copies left %q; want the old file", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the failed copies left %d entries; want the old file alone", len(ents))
	}
}

var errSender = errors.New("the sender failed")

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errSender }
