package agent

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"banger/internal/agent/agentproto"
)

// command is what runs for spec: spec itself, or what Options.Command
// makes of it.
func (s *Server) command(spec agentproto.ExecSpec) (agentproto.ExecSpec, error) {
	if s.opts.Command == nil {
		return spec, nil
	}
	return s.opts.Command(spec)
}

// commandEnv is the environment of a command: a login's basics, TERM on a
// terminal, then spec.Env.
func commandEnv(spec agentproto.ExecSpec) []string {
	shell := rootShell()
	env := []string{"PATH=" + defaultPath, "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=" + shell, "LANG=C.UTF-8"}
	if spec.TTY {
		term := spec.Term
		if term == "" {
			term = "xterm-256color"
		}
		env = append(env, "TERM="+term)
	}
	return append(env, spec.Env...)
}

// resolveCommand finds argv[0] on env's PATH; an empty argv is root's
// login shell (argv[0] "-sh" and the like, as login(1) does). An argv of
// agentproto.LoginShellArgv's form runs env's SHELL with -c at once, as
// the /bin/sh it names would have: one program started instead of two,
// a tenth of a second of a guest's CPU under emulation.
func resolveCommand(argv, env []string) ([]string, string, error) {
	if len(argv) == 0 {
		shell := rootShell()
		return []string{"-" + filepath.Base(shell)}, shell, nil
	}
	if script, ok := agentproto.LoginShellScript(argv); ok {
		shell := envValue(env, "SHELL")
		if shell == "" {
			shell = "/bin/sh"
		}
		argv = []string{shell, "-c", script}
	}
	name := argv[0]
	if strings.Contains(name, "/") {
		return argv, name, nil
	}
	for _, dir := range filepath.SplitList(envValue(env, "PATH")) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return argv, p, nil
		}
	}
	return nil, "", &errNoCommand{127, fmt.Errorf("%s: command not found", name)}
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// rootShell is root's shell from /etc/passwd, or /bin/sh.
func rootShell() string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "/bin/sh"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) == 7 && fields[0] == "root" && fields[6] != "" {
			if _, err := os.Stat(fields[6]); err == nil {
				return fields[6]
			}
		}
	}
	return "/bin/sh"
}

// workDir is dir, else /root, else / when /root is missing.
func workDir(dir string) string {
	if dir != "" {
		return dir
	}
	if fi, err := os.Stat("/root"); err == nil && fi.IsDir() {
		return "/root"
	}
	return "/"
}
