package doctor

import (
	"fmt"
	"io"
	"strings"
)

// statusWidth is the width of the widest status label ("warn", "FAIL").
const statusWidth = 4

// Write prints results for people: one aligned line per check,
// `STATUS  NAME  SUMMARY`, then the fix and any details indented under the
// name, and a final line counting ok, warnings and failures.
func Write(w io.Writer, results []Result) error {
	nameWidth := 0
	for _, r := range results {
		nameWidth = max(nameWidth, len(r.Name))
	}
	var b strings.Builder
	indent := strings.Repeat(" ", statusWidth+2)
	for _, r := range results {
		line := fmt.Sprintf("%-*s  %-*s  %s", statusWidth, r.Status, nameWidth, r.Name, r.Summary)
		b.WriteString(strings.TrimRight(line, " ") + "\n")
		if r.Fix != "" && r.Status != Pass {
			b.WriteString(indent + "fix: " + r.Fix + "\n")
		}
		for _, d := range r.Details {
			b.WriteString(indent + d + "\n")
		}
	}
	b.WriteString(tally(results) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// tally returns "N ok, N warnings, N failed".
func tally(results []Result) string {
	var n [3]int
	for _, r := range results {
		if r.Status >= Pass && r.Status <= Fail {
			n[r.Status]++
		}
	}
	return fmt.Sprintf("%d ok, %d warnings, %d failed", n[Pass], n[Warn], n[Fail])
}
