package workspace

import (
	"fmt"
	"strings"
)

// ToolingFiles are the files at a repository's top that ask for a
// tooling bootstrap with mise.
var ToolingFiles = []string{".mise.toml", "mise.toml", ".tool-versions"}

// ToolingLog is the guest file the tooling bootstrap of s logs to.
func (s Source) ToolingLog() string {
	return GuestHome + "/.cache/banger/vm-run-tooling-" + s.Name + ".log"
}

// toolingNoMise is the status of the trust script when the guest has no
// mise.
const toolingNoMise = 3

// trustScript starts the tooling log and marks the repository's mise
// configuration as trusted, as mise asks before it reads a file it has
// not seen: without this a login shell would ask on its first prompt. It
// exits toolingNoMise when mise is not installed.
func trustScript(s Source) string {
	return fmt.Sprintf(`echo "banger: tooling bootstrap for %[1]s started $(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ)"
cd -- %[1]s || exit 1
if ! command -v mise >/dev/null 2>&1; then
	echo "banger: mise is not installed in this guest, so the repository's tools (%[2]s) were not installed."
	echo "banger: use an image that has mise (debian-bookworm does), or install the tools yourself."
	exit %[3]d
fi
MISE_YES=1 mise trust --all
`, sq(s.GuestDir()), strings.Join(ToolingFiles, " or "), toolingNoMise)
}

// installScript installs the tools and exits with mise's status.
func installScript(s Source) string {
	return fmt.Sprintf(`cd -- %s || exit 1
MISE_YES=1 mise install
status=$?
echo "banger: mise install exited with status $status"
exit $status
`, sq(s.GuestDir()))
}

// GuestScript is what `vm run PATH` runs in the guest, through a shell
// over ssh. It goes to the copy's directory and, when the repository
// has a mise configuration, bootstraps its tools, logging to
// ToolingLog; that never fails the run. Given a command (a shell snippet
// for the guest), it waits for the bootstrap, puts mise's shims on PATH
// and runs the command, whose status becomes the script's. Without one
// it starts the install in the background, in a session of its own so
// that it outlives the connection, and opens a login shell at once.
func GuestScript(s Source, command string) string {
	log := sq(s.ToolingLog())
	var b strings.Builder
	fmt.Fprintf(&b, "cd -- %s 2>/dev/null || cd -- %s || exit 125\n", sq(s.GuestCwd()), sq(s.GuestDir()))
	var tests []string
	for _, f := range ToolingFiles {
		tests = append(tests, "[ -f "+sq(s.GuestDir()+"/"+f)+" ]")
	}
	fmt.Fprintf(&b, "if %s; then\n", strings.Join(tests, " || "))
	fmt.Fprintf(&b, "\tmkdir -p %s\n", sq(GuestHome+"/.cache/banger"))
	fmt.Fprintf(&b, "\tsh -c %s </dev/null >%s 2>&1\n", sq(trustScript(s)), log)
	fmt.Fprintf(&b, "\tif [ $? -ne %d ]; then\n", toolingNoMise)
	install := sq(installScript(s))
	if command == "" {
		fmt.Fprintf(&b, "\t\techo \"banger: installing the repository's tools with mise in the background; log: \"%s >&2\n", log)
		fmt.Fprintf(&b, "\t\tsetsid -f sh -c %s </dev/null >>%s 2>&1\n", install, log)
	} else {
		fmt.Fprintf(&b, "\t\techo \"banger: installing the repository's tools with mise before the command; log: \"%s >&2\n", log)
		fmt.Fprintf(&b, "\t\tsh -c %s </dev/null >>%s 2>&1 ||\n", install, log)
		fmt.Fprintf(&b, "\t\t\techo \"banger: installing the tools failed; see \"%s\"; running the command anyway\" >&2\n", log)
		b.WriteString("\t\texport PATH=\"$HOME/.local/share/mise/shims:$PATH\"\n")
	}
	b.WriteString("\telse\n")
	fmt.Fprintf(&b, "\t\techo \"banger: mise is not installed in this guest, so no tools were installed; see \"%s >&2\n", log)
	b.WriteString("\tfi\n")
	b.WriteString("fi\n")
	if command == "" {
		b.WriteString("exec \"${SHELL:-/bin/sh}\" -l\n")
	} else {
		b.WriteString(command + "\n")
	}
	return b.String()
}

// sq quotes s for a POSIX shell.
func sq(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
