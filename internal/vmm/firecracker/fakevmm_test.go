package firecracker

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Env of the test binary run as a fake Firecracker.
const (
	fakeEnv       = "BANGER_TEST_FAKE_FIRECRACKER"          // "1": act as firecracker
	fakeSpecEnv   = "BANGER_TEST_FAKE_FIRECRACKER_SPEC"     // absolute path of the API spec
	fakeFaultEnv  = "BANGER_TEST_FAKE_FIRECRACKER_FAULT"    // "PUT /boot-source=message": answer it 400
	fakeCADEnv    = "BANGER_TEST_FAKE_FIRECRACKER_CAD"      // "ignore": a guest that ignores Ctrl+Alt+Del
	fakeFailEnv   = "BANGER_TEST_FAKE_FIRECRACKER_FAIL"     // print it to stderr and exit 1 at once
	fakeBaseName  = "firecracker-fake"                      // the link the driver runs
	fakeCallsName = "fake-calls.jsonl"                      // the calls, one JSON object a line
	fakePIDName   = "fake.pid"                              // the fake's own pid, written at once
	fakeBooted    = "fake guest: reached multi-user target" // printed on the console at boot
)

// TestMain lets the test binary stand in for Firecracker: run through a
// link named firecracker-fake with BANGER_TEST_FAKE_FIRECRACKER=1, it
// serves the validating fake API on --api-sock, records every call in the
// socket's dir, binds the vsock's uds_path at boot like Firecracker does,
// and exits on Ctrl+Alt+Del, as a guest booted with reboot=k makes it.
func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) == "1" {
		os.Exit(fakeFirecracker(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeFirecracker(args []string) int {
	if msg := os.Getenv(fakeFailEnv); msg != "" {
		fmt.Fprintln(os.Stderr, msg)
		return 1
	}
	flags := map[string]string{}
	for i := 0; i+1 < len(args); i += 2 {
		flags[args[i]] = args[i+1]
	}
	sock := flags["--api-sock"]
	dir := filepath.Dir(sock)
	if err := os.WriteFile(filepath.Join(dir, fakePIDName), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fail(err)
	}
	if _, err := os.Stat(flags["--log-path"]); err != nil { // Firecracker does not create it
		return fail(fmt.Errorf("opening the log: %w", err))
	}
	spec, err := loadSpec(os.Getenv(fakeSpecEnv))
	if err != nil {
		return fail(err)
	}
	f := newFakeAPI(spec)
	if k, msg, ok := strings.Cut(os.Getenv(fakeFaultEnv), "="); ok {
		f.faults[k] = msg
	}
	log, err := os.OpenFile(filepath.Join(dir, fakeCallsName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fail(err)
	}
	var vsock net.Listener
	f.act = func(c call) error {
		switch {
		case c.Call == "PUT /vsock":
			var v Vsock
			json.Unmarshal(c.Body, &v)
			ln, err := net.Listen("unix", v.UDSPath)
			if err != nil {
				return fmt.Errorf("Cannot create backend for vsock device: %w", err)
			}
			vsock = ln
		case strings.Contains(string(c.Body), string(ActionInstanceStart)):
			fmt.Println(fakeBooted)
		}
		return nil
	}
	exit := make(chan struct{})
	var once sync.Once
	f.onCall = func(c call) {
		b, _ := json.Marshal(c)
		log.Write(append(b, '\n'))
		if c.Invalid == "" && strings.Contains(string(c.Body), string(ActionSendCtrlAltDel)) && os.Getenv(fakeCADEnv) != "ignore" {
			once.Do(func() { close(exit) })
		}
	}
	srv, err := f.serve(sock)
	if err != nil {
		return fail(fmt.Errorf("Failed to open the API socket: %w", err))
	}
	<-exit
	srv.Close()
	if vsock != nil {
		vsock.Close()
	}
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "fake firecracker:", err)
	return 1
}

// fakeDriver is a Driver whose Firecracker is this test binary.
func fakeDriver(t *testing.T) *Driver {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), fakeBaseName)
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(specFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeEnv, "1")
	t.Setenv(fakeSpecEnv, abs)
	return &Driver{Binary: link}
}

// fakeCalls returns the calls the fake Firecracker in spec's RunDir
// received.
func fakeCalls(t *testing.T, runDir string) []call {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, fakeCallsName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []call
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("calls log: %v", err)
		}
		calls = append(calls, c)
	}
	return calls
}

// fakePID is the pid the fake Firecracker in runDir wrote.
func fakePID(t *testing.T, runDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, fakePIDName))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
