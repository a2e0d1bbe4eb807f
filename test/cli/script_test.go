// Package cli_test drives the real banger and bangerd binaries through
// testscript scripts in testdata/, each with its XDG directories in a temp
// dir. The scripts read like a user's session at a terminal.
package cli_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"banger/internal/api/client"
	"banger/internal/store"
)

// Versions stamped into the binaries under test.
const (
	testVersion  = "test-1"
	otherVersion = "test-0"
)

var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "banger-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	builds := []struct{ out, pkg, version string }{
		{"banger", "banger/cmd/banger", testVersion},
		{"bangerd", "banger/cmd/bangerd", testVersion},
		{"bangerd-other", "banger/cmd/bangerd", otherVersion},
	}
	for _, b := range builds {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b.out),
			"-ldflags", "-X banger/internal/version.Version="+b.version, b.pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", b.out, err)
			return 1
		}
	}
	return m.Run()
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		Setup:               setup,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"seedvm": seedVM, "startdaemon": startDaemon, "sha256": sha256Env, "listen": listenEnv, "status": wantStatus},
		RequireExplicitExec: true,
	})
}

// setup gives each script its own XDG tree, a short runtime dir for the
// socket, the host-derived defaults to compare with, and a teardown that
// stops every daemon the script left running.
func setup(env *testscript.Env) error {
	runtimeDir, err := os.MkdirTemp("", "bgr")
	if err != nil {
		return err
	}
	work := env.WorkDir
	env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
	env.Setenv("HOME", filepath.Join(work, "home"))
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(work, "config"))
	env.Setenv("XDG_STATE_HOME", filepath.Join(work, "state"))
	env.Setenv("XDG_CACHE_HOME", filepath.Join(work, "cache"))
	env.Setenv("XDG_RUNTIME_DIR", runtimeDir)
	env.Setenv("BANGER_DAEMON_BIN", filepath.Join(binDir, "bangerd"))
	env.Setenv("OTHER_BANGERD", filepath.Join(binDir, "bangerd-other"))
	env.Setenv("TEST_VERSION", testVersion)
	env.Setenv("OTHER_VERSION", otherVersion)
	vcpu, vcpuFrom, mem, memFrom := hostDefaults()
	env.Setenv("HOST_VCPU", strconv.Itoa(vcpu))
	env.Setenv("HOST_VCPU_FROM", vcpuFrom)
	env.Setenv("HOST_MEM", strconv.Itoa(mem))
	env.Setenv("HOST_MEM_FROM", memFrom)
	env.Defer(func() {
		stopLeftovers(runtimeDir)
		os.RemoveAll(runtimeDir)
	})
	return nil
}

// hostDefaults computes, independently of banger's resolver, the VM sizes
// banger should pick on this host when nothing is configured.
func hostDefaults() (vcpu int, vcpuFrom string, memMiB int, memFrom string) {
	vcpu, vcpuFrom = min(runtime.NumCPU()/4, 4), "auto"
	if vcpu < 1 {
		vcpu, vcpuFrom = 1, "builtin"
	}
	memMiB, memFrom = 1024, "builtin"
	data, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kib, _ := strconv.Atoi(f[1])
			if m := min(kib/1024/8, 8192); m >= 1024 {
				memMiB, memFrom = m, "auto"
			}
		}
	}
	return vcpu, vcpuFrom, memMiB, memFrom
}

// seedVM [-lasterror TEXT] [-state STATE] [-workspace DIR]
// [-label KEY=VALUE]... [-expires DURATION] NAME... records VMs (stopped
// unless STATE says otherwise) in the store, as a later bangerd would
// have; TEXT, with Go escapes, is their last error; DIR, a repository,
// the workspace they were made with; DURATION, from now and negative for
// the past, when they expire.
func seedVM(ts *testscript.TestScript, neg bool, args []string) {
	v := store.VM{
		State: "stopped", Image: "debian-bookworm", Kernel: "debian-6.1-cloud",
		VMM: "qemu", VCPU: 2, MemoryMiB: 1024, DiskBytes: 8 << 30,
	}
	for len(args) > 2 && strings.HasPrefix(args[0], "-") {
		seedFlag(ts, &v, args[0], args[1])
		args = args[2:]
	}
	if neg || len(args) == 0 {
		ts.Fatalf("usage: seedvm [-lasterror TEXT] [-state STATE] [-workspace DIR] [-label KEY=VALUE]... [-expires DURATION] NAME...")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(ts.Getenv("XDG_STATE_HOME"), "banger", "banger.db"))
	ts.Check(err)
	defer st.Close()
	for _, name := range args {
		v.Name = name
		ts.Check(st.CreateVM(ctx, v))
	}
}

// seedFlag applies one of seedvm's flags to v.
func seedFlag(ts *testscript.TestScript, v *store.VM, flag, arg string) {
	switch flag {
	case "-lasterror":
		// Go escapes, so that a script can hold what a guest might say.
		s, err := strconv.Unquote(`"` + arg + `"`)
		ts.Check(err)
		v.LastError = s
	case "-state":
		v.State = arg
	case "-workspace":
		v.Workspace = store.Workspace{Top: ts.MkAbs(arg), Name: filepath.Base(arg)}
	case "-label":
		k, val, _ := strings.Cut(arg, "=")
		if v.Labels == nil {
			v.Labels = map[string]string{}
		}
		v.Labels[k] = val
	case "-expires":
		d, err := time.ParseDuration(arg)
		ts.Check(err)
		v.ExpiresAt = time.Now().Add(d)
	default:
		ts.Fatalf("seedvm: unknown flag %s", flag)
	}
}

// sha256Env FILE VAR sets VAR to FILE's sha256, as sha256sum prints it.
func sha256Env(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sha256 FILE VAR")
	}
	sum := sha256.Sum256([]byte(ts.ReadFile(args[0])))
	ts.Setenv(args[1], hex.EncodeToString(sum[:]))
}

// listenEnv [-free] VAR takes a free port on 127.0.0.1 until the script
// ends, and sets VAR to its address; with -free it lets the port go at once,
// for a script that needs a port free.
func listenEnv(ts *testscript.TestScript, neg bool, args []string) {
	free := len(args) == 2 && args[0] == "-free"
	if free {
		args = args[1:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: listen [-free] VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Setenv(args[0], ln.Addr().String())
	if free {
		ts.Check(ln.Close())
		return
	}
	ts.Defer(func() { ln.Close() })
}

// startDaemon BIN starts a daemon binary detached, as the CLI would, and
// waits until it answers.
func startDaemon(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: startdaemon BIN")
	}
	runtimeDir := filepath.Join(ts.Getenv("XDG_RUNTIME_DIR"), "banger")
	logf, err := os.Create(filepath.Join(ts.Getenv("WORK"), "startdaemon.log"))
	ts.Check(err)
	defer logf.Close()
	cmd := exec.Command(args[0])
	cmd.Env = os.Environ()
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	ts.Check(cmd.Start())
	go cmd.Wait()
	c := &client.Client{Socket: filepath.Join(runtimeDir, "bangerd.sock")}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Daemon(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("daemon %s did not answer: %v", args[0], err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wantStatus N PROG ARGS... runs PROG as exec does and checks that it
// exits with status N; stdout and stderr are kept for the next checks.
func wantStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		got = ee.ExitCode()
	} else {
		ts.Check(err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}
