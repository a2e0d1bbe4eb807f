package agentclient_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/agent"
	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// guestOptions are a guest without sshd (so ready at once), or with an
// sshd that never comes up.
func guestOptions(t *testing.T, ready bool) agent.Options {
	sshd := filepath.Join(t.TempDir(), "sshd")
	if !ready {
		if err := os.WriteFile(sshd, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return agent.Options{
		SSHDPath:     sshd,
		HostKeyDir:   t.TempDir(),
		SSHAddr:      "127.0.0.1:1",
		PollInterval: 5 * time.Millisecond,
		Addresses:    func() ([]string, error) { return []string{"10.0.0.2/24"}, nil },
	}
}

// serve runs a guest agent on c until the test ends.
func serve(t *testing.T, c agent.Stream, opts agent.Options) {
	ctx := testCtx(t)
	go agent.NewServer(opts).ServeConn(ctx, c)
}

func TestConnAgainstTheAgent(t *testing.T) {
	host, guest := net.Pipe()
	defer host.Close()
	serve(t, guest, guestOptions(t, true))
	c := agentclient.NewConn(host)
	ctx := testCtx(t)
	h, err := c.Hello(ctx)
	if err != nil || h.Protocol != agentproto.Version || h.Hostname == "" {
		t.Fatalf("Hello = %+v, %v", h, err)
	}
	st, err := c.Status(ctx)
	if err != nil || !st.Ready || st.SSH || len(st.Addresses) != 1 {
		t.Fatalf("Status = %+v, %v; want ready, no ssh, the address", st, err)
	}
	if st, err := c.WaitReady(ctx, time.Second); err != nil || !st.Ready {
		t.Fatalf("WaitReady = %+v, %v", st, err)
	}
}

// fakeAgent answers each request line with whatever script says.
func fakeAgent(t *testing.T, c net.Conn, script func(req agentproto.Request, raw string) string) {
	go func() {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			var req agentproto.Request
			json.Unmarshal([]byte(line), &req)
			if _, err := c.Write([]byte(script(req, line))); err != nil {
				return
			}
		}
	}()
}

func TestConnResynchronises(t *testing.T) {
	host, guest := net.Pipe()
	defer host.Close()
	var raws []string
	fakeAgent(t, guest, func(req agentproto.Request, raw string) string {
		raws = append(raws, raw)
		if req.Op == "" {
			return "" // the leading newline
		}
		// Noise a stale connection could hold, before the real answer: a
		// half line, an answer to another id, an echo of the request.
		stale, _ := json.Marshal(agentproto.Response{V: 1, ID: req.ID - 1, OK: true, Hello: &agentproto.Hello{Agent: "stale"}})
		good, _ := json.Marshal(agentproto.Response{V: 1, ID: req.ID, OK: true, Hello: &agentproto.Hello{Agent: "fresh"}})
		return `{"v":1,"id":` + "\n" + string(stale) + "\n" + raw + "\n" + string(good) + "\n"
	})
	c := agentclient.NewConn(host)
	for range 2 {
		h, err := c.Hello(testCtx(t))
		if err != nil || h.Agent != "fresh" {
			t.Fatalf("Hello = %+v, %v; want the answer with the request's id", h, err)
		}
	}
	if len(raws) != 3 || raws[0] != "\n" {
		t.Errorf("lines sent = %q; want a lone newline first, then one line per request", raws)
	}
}

func TestConnErrorsHaveKinds(t *testing.T) {
	for _, tc := range []struct {
		code string
		kind error
	}{
		{agentproto.CodeUnknownOp, errdefs.ErrFailedPrecondition},
		{agentproto.CodeUnsupportedVersion, errdefs.ErrFailedPrecondition},
		{agentproto.CodeBadRequest, errdefs.ErrInvalidArgument},
		{agentproto.CodeNotReady, agentclient.ErrNotReady},
	} {
		host, guest := net.Pipe()
		fakeAgent(t, guest, func(req agentproto.Request, raw string) string {
			if req.Op == "" {
				return ""
			}
			b, _ := json.Marshal(agentproto.Response{V: 1, ID: req.ID, Code: tc.code, Error: "said the agent"})
			return string(b) + "\n"
		})
		_, err := agentclient.NewConn(host).Status(testCtx(t))
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), "said the agent") {
			t.Errorf("code %s: error %v; want %v carrying the agent's message", tc.code, err, tc.kind)
		}
		host.Close()
	}
}

func TestConnHonoursContext(t *testing.T) {
	host, guest := net.Pipe()
	defer host.Close()
	fakeAgent(t, guest, func(agentproto.Request, string) string { return "" }) // never answers
	c := agentclient.NewConn(host)
	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Millisecond)
	defer cancel()
	_, err := c.Hello(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Hello to a silent agent = %v; want unavailable, deadline exceeded", err)
	}
	// Cancelling (here, once the timer above has fired) stops a call too,
	// whether it comes before or during the call.
	ctx2, cancel2 := context.WithCancel(testCtx(t))
	context.AfterFunc(ctx, cancel2)
	if _, err := c.Status(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("Status with a cancelled context = %v; want canceled", err)
	}
}
