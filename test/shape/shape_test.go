// Package shape holds the code base to the sizes that keep it readable:
// no type with more than maxMethods methods, no function longer than
// maxFuncLines lines, no file longer than maxFileLines lines, tests and
// generated code aside. A change that passes a limit splits the code
// instead of raising it.
package shape

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const (
	maxMethods   = 40
	maxFuncLines = 60
	maxFileLines = 400
	// maxDaemonLines bounds the daemon process package, which only wires
	// the VM manager, the image library and the API server.
	maxDaemonLines = 600
)

// over reports a place past its limit.
func over(t *testing.T, past bool, msg string) {
	t.Helper()
	if past {
		t.Error(msg)
	}
}

// source is one parsed non-test Go file of the repository.
type source struct {
	path  string // relative to the repository root
	fset  *token.FileSet
	file  *ast.File
	lines int
}

func sources(t *testing.T) []source {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var out []source
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, data, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, source{path: rel, fset: fset, file: f, lines: strings.Count(string(data), "\n")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("found only %d Go files under %s: is the test run from its own directory?", len(out), root)
	}
	return out
}

func TestFilesAreShort(t *testing.T) {
	for _, s := range sources(t) {
		over(t, s.lines > maxFileLines,
			fmt.Sprintf("%s has %d lines (limit %d): split it by what its parts do", s.path, s.lines, maxFileLines))
	}
}

func TestFunctionsAreShort(t *testing.T) {
	for _, s := range sources(t) {
		for _, d := range s.file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			n := s.fset.Position(fn.End()).Line - s.fset.Position(fn.Pos()).Line + 1
			over(t, n > maxFuncLines,
				fmt.Sprintf("%s: %s has %d lines (limit %d): name its steps as functions", s.path, fn.Name.Name, n, maxFuncLines))
		}
	}
}

func TestTypesHaveFewMethods(t *testing.T) {
	count := map[string]int{} // "dir.Type"
	for _, s := range sources(t) {
		for _, d := range s.file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) == 0 {
				continue
			}
			typ := fn.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if idx, ok := typ.(*ast.IndexExpr); ok {
				typ = idx.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				count[filepath.Dir(s.path)+"."+id.Name]++
			}
		}
	}
	var names []string
	for k := range count {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		over(t, count[k] > maxMethods,
			fmt.Sprintf("%s has %d methods (limit %d): give some of its jobs a type of their own", k, count[k], maxMethods))
	}
}

func TestDaemonOnlyWires(t *testing.T) {
	n := 0
	for _, s := range sources(t) {
		if filepath.Dir(s.path) == filepath.Join("internal", "daemon") {
			n += s.lines
		}
	}
	if n > maxDaemonLines {
		t.Errorf("internal/daemon has %d lines (limit %d): VM, image and API work belongs in internal/vm, internal/library and internal/api/server", n, maxDaemonLines)
	}
}
