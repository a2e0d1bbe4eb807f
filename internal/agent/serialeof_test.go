package agent

import (
	"context"
	"io"
	"net"
	"strconv"
	"testing"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
)

// serveVirtioPort serves opts on a fake virtio-serial port until the test
// ends.
func serveVirtioPort(t *testing.T, opts Options) *virtioPort {
	t.Helper()
	port := newVirtioPort(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	served := make(chan error, 1)
	go func() { served <- NewServer(opts).servePort(ctx, port) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("servePort = %v; want nil once stopped", err)
		}
	})
	return port
}

// TestSerialStaleEOFKeepsTheMultiplexedConnection: a host that connected
// right after another one left may be read before the guest learns that
// the other left, which then reads as an end of stream in the middle of
// the new host's connection. The connection, its requests and its
// channels go on.
func TestSerialStaleEOFKeepsTheMultiplexedConnection(t *testing.T) {
	port := serveVirtioPort(t, execOptions(t))
	host := port.connect(t)
	m, err := agentclient.Upgrade(testCtx(t), agentclient.NewConn(host))
	if err != nil {
		t.Fatalf("Upgrade: %v", err)
	}
	defer m.Close()
	ch, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"cat"}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}

	port.staleEOF(t, host)
	dir := t.TempDir()
	if fi, err := m.Stat(testCtx(t), dir); err != nil || fi.Type != agentproto.TypeDir {
		t.Fatalf("Stat after a stale end of stream = %+v, %v; want the directory", fi, err)
	}
	if _, err := io.WriteString(ch, "still here\n"); err != nil {
		t.Fatal(err)
	}
	ch.CloseWrite()
	if got := drain(t, ch); got.stdout != "still here\n" || got.exit == nil || got.exit.Code != 0 {
		t.Fatalf("exec across the stale end of stream: %+v, exit %v; want its input back and exit 0", got, got.exit)
	}
	if ch, err = m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"true"}}); err != nil {
		t.Fatalf("a new exec after the stale end of stream: %v", err)
	}
	drain(t, ch)
}

// TestSerialHelloAfterEOFStartsANewConnection: after an end of stream the
// multiplexed connection lasts until a hello says a new host is there;
// that hello ends the old host's channels and is answered.
func TestSerialHelloAfterEOFStartsANewConnection(t *testing.T) {
	port := serveVirtioPort(t, execOptions(t))
	hostFile := port.connect(t)
	host, err := net.FileConn(hostFile)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	raw := newRawHost(t, host)
	if r := raw.send("\n" + `{"v":2,"id":1,"op":"hello","features":["streams"]}` + "\n"); !r.OK || len(r.Hello.Features) != 1 {
		t.Fatalf("hello asking for streams = %+v", r)
	}
	dir := t.TempDir()
	script := `trap 'echo hup > ` + dir + `/hup; exit 1' HUP; echo > ` + dir + `/up; while :; do sleep 0.05; done`
	if r := raw.send(`{"v":2,"id":2,"op":"exec","exec":{"argv":["sh","-c",` + strconv.Quote(script) + `]}}` + "\n"); !r.OK || r.ID != 2 {
		t.Fatalf("exec = %+v", r)
	}
	waitFile(t, dir+"/up")

	port.staleEOF(t, hostFile)
	r := raw.send(`{"v":2,"id":3,"op":"fs-stat","path":` + strconv.Quote(dir) + `}` + "\n")
	for r.ID != 3 {
		r = raw.read()
	}
	if !r.OK {
		t.Fatalf("fs-stat after the end of stream = %+v; want the same multiplexed connection to answer", r)
	}
	r = raw.send("\n" + `{"v":1,"id":77,"op":"hello"}` + "\n")
	for r.ID != 77 {
		r = raw.read() // what the first host was still sent
	}
	if !r.OK || r.Hello == nil || len(r.Hello.Features) != 0 {
		t.Fatalf("hello from a new host = %+v", r)
	}
	waitFile(t, dir+"/hup")
	if r := raw.send(`{"v":2,"id":78,"op":"fs-stat","path":` + strconv.Quote(dir) + `}` + "\n"); r.OK || r.ID != 78 {
		t.Fatalf("fs-stat on the new plain connection = %+v; want it refused", r)
	}
}
