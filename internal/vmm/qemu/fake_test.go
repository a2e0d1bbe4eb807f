package qemu

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// fakeQMP serves QEMU's machine protocol on a unix socket: enough of it
// for the driver's client. Commands it does not know get a CommandNotFound
// error; every reply is preceded by an event, which clients must skip.
type fakeQMP struct {
	ln net.Listener

	mu       sync.Mutex
	status   string
	commands []string
	// migration is query-migrate's status; "" for no migration ever.
	migration string
	// onCommand, when set, runs after a command is answered.
	onCommand func(command string)
}

func listenFakeQMP(path string) (*fakeQMP, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	f := &fakeQMP{ln: ln, status: "running"}
	go f.serve()
	return f, nil
}

func (f *fakeQMP) Close() error { return f.ln.Close() }

func (f *fakeQMP) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commands...)
}

func (f *fakeQMP) serve() {
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.session(conn)
	}
}

func (f *fakeQMP) session(conn net.Conn) {
	defer conn.Close()
	enc := json.NewEncoder(conn)
	enc.Encode(map[string]any{"QMP": map[string]any{"version": map[string]any{}, "capabilities": []string{"oob"}}})
	sc := bufio.NewScanner(conn)
	negotiated := false
	for sc.Scan() {
		var req struct {
			Execute string `json:"execute"`
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			enc.Encode(qmpErr("GenericError", "bad JSON"))
			continue
		}
		enc.Encode(map[string]any{"event": "NOISE", "data": map[string]any{}})
		if !negotiated && req.Execute != "qmp_capabilities" {
			enc.Encode(qmpErr("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'"))
			continue
		}
		enc.Encode(f.reply(req.Execute))
		negotiated = true
		if f.onCommand != nil {
			f.onCommand(req.Execute)
		}
	}
}

func (f *fakeQMP) reply(command string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, command)
	ok := map[string]any{"return": map[string]any{}}
	switch command {
	case "qmp_capabilities", "system_powerdown", "quit":
		return ok
	case "stop":
		f.status = "paused"
		return ok
	case "cont":
		f.status = "running"
		return ok
	case "query-migrate":
		if f.migration == "" {
			return ok
		}
		return map[string]any{"return": map[string]any{"status": f.migration}}
	case "migrate_cancel":
		if f.migration == "active" {
			f.migration = "cancelled"
		}
		return ok
	case "query-status":
		return map[string]any{"return": map[string]any{"status": f.status, "running": f.status == "running"}}
	}
	return qmpErr("CommandNotFound", fmt.Sprintf("The command %s has not been found", command))
}

func qmpErr(class, desc string) any {
	return map[string]any{"error": map[string]any{"class": class, "desc": desc}}
}

// Env of the test binary run as a fake QEMU.
const (
	fakeQEMUEnv      = "BANGER_TEST_FAKE_QEMU"
	fakePowerdownEnv = "BANGER_TEST_FAKE_QEMU_POWERDOWN" // "ignore": a guest without ACPI handling
	fakeQEMUFailEnv  = "BANGER_TEST_FAKE_QEMU_FAIL"      // print it and exit 1 at once
	fakeQEMUBaseName = "qemu-system-fake"
)

// TestMain lets the test binary stand in for QEMU: run through a link
// named qemu-system-fake with BANGER_TEST_FAKE_QEMU=1, it writes the
// -pidfile, serves QMP on -qmp and exits on quit (and system_powerdown,
// unless told to ignore it).
func TestMain(m *testing.M) {
	if os.Getenv(fakeQEMUEnv) == "1" {
		os.Exit(fakeQEMU(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeQEMU(args []string) int {
	if msg := os.Getenv(fakeQEMUFailEnv); msg != "" {
		fmt.Fprintln(os.Stderr, msg)
		return 1
	}
	var pidfile, qmp string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-pidfile":
			pidfile = args[i+1]
		case "-qmp":
			qmp = args[i+1]
		}
	}
	path := qmp[len("unix:"):]
	path = path[:len(path)-len(",server=on,wait=off")]
	if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Remove(path)
	srv, err := listenFakeQMP(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	quit := make(chan struct{})
	var once sync.Once
	srv.onCommand = func(command string) {
		if command == "quit" || command == "system_powerdown" && os.Getenv(fakePowerdownEnv) != "ignore" {
			once.Do(func() { close(quit) })
		}
	}
	fmt.Println("fake QEMU running")
	<-quit
	os.Remove(pidfile)
	return 0
}

// fakeDriver is a Driver whose QEMU is this test binary.
func fakeDriver(t *testing.T) *Driver {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), fakeQEMUBaseName)
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeQEMUEnv, "1")
	return &Driver{Binary: link, Accel: func() Accel { return TCG }, VhostVsock: noVsock}
}
