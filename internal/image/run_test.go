package image

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestLineWriter(t *testing.T) {
	var lines []string
	w := &lineWriter{line: func(s string) { lines = append(lines, s) }}
	fmt.Fprint(w, "one\ntw")
	fmt.Fprint(w, "o\r\n\nthree")
	w.flush()
	if want := []string{"one", "two", "three"}; !slices.Equal(lines, want) {
		t.Errorf("lines = %q, want %q", lines, want)
	}
	for i := range 50 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	tail := strings.Split(w.tail(), "\n")
	if len(tail) != tailLines || tail[len(tail)-1] != "line 49" {
		t.Errorf("tail = %q", tail)
	}
}

type shRunner struct{}

func (shRunner) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}

func TestRunErrorHasOutputTail(t *testing.T) {
	err := run(t.Context(), shRunner{}, strings.NewReader("from stdin"), nil, "sh", "-c", `cat; echo; echo "E: it broke" >&2; exit 3`)
	if err == nil || !strings.Contains(err.Error(), "from stdin\nE: it broke") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("err = %v", err)
	}
}
