package agentclient_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/errdefs"
)

// agentStream is a connection the fake guest serves.
type agentStream = *net.UnixConn

// fakeQEMU listens where a QEMU chardev would and hands each connection to
// handle.
func fakeQEMU(t *testing.T, handle func(i int, c agentStream)) agentclient.Endpoint {
	path := filepath.Join(t.TempDir(), "agent.sock")
	ln := listenUnix(t, path)
	go func() {
		for i := 0; ; i++ {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			handle(i, c)
		}
	}()
	return agentclient.Endpoint{Kind: agentclient.KindSerial, Path: path}
}

func TestWaitReady(t *testing.T) {
	ep := fakeQEMU(t, func(i int, c agentStream) {
		if i == 0 {
			c.Close() // an agent that restarts right away
			return
		}
		serve(t, c, guestOptions(t, true))
	})
	st, err := agentclient.WaitReady(testCtx(t), ep)
	if err != nil || !st.Ready || len(st.Addresses) != 1 {
		t.Fatalf("WaitReady = %+v, %v; want ready with the guest's address", st, err)
	}
}

// A hello the guest never reads (its port was closed when it came, and a
// virtio-serial port drops what comes while it is closed) is said again
// on the same connection, and the guest answers that one.
func TestWaitReadySaysHelloAgain(t *testing.T) {
	defer agentclient.SetHelloAttempt(100 * time.Millisecond)()
	ep := fakeQEMU(t, func(_ int, c agentStream) {
		go func() {
			// Drop the host's first hello, as a port the guest had closed
			// would, then serve.
			br := bufio.NewReader(c)
			for hellos := 0; hellos < 1; {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if strings.Contains(line, `"hello"`) {
					hellos++
				}
			}
			serve(t, c, guestOptions(t, true))
		}()
	})
	st, err := agentclient.WaitReady(testCtx(t), ep)
	if err != nil || !st.Ready {
		t.Fatalf("WaitReady = %+v, %v; want ready once a second hello is read", st, err)
	}
}

func TestWaitReadySaysWhatItSawLast(t *testing.T) {
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(testCtx(t), 150*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	missing := agentclient.Endpoint{Kind: agentclient.KindSerial, Path: filepath.Join(t.TempDir(), "none.sock")}
	silent := fakeQEMU(t, func(int, agentStream) {}) // the VMM runs, the agent does not answer
	notReady := fakeQEMU(t, func(_ int, c agentStream) { serve(t, c, guestOptions(t, false)) })
	for _, tc := range []struct {
		name string
		ep   agentclient.Endpoint
		want string
	}{
		{"no socket", missing, "no socket at " + missing.Path},
		{"no answer", silent, "no answer from the agent"},
		{"not ready", notReady, "guest not ready after"},
	} {
		st, err := agentclient.WaitReady(short(), tc.ep)
		t.Logf("%s: %v", tc.name, err)
		if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: WaitReady = %v; want unavailable, saying %q", tc.name, err, tc.want)
		}
		if tc.name == "not ready" && (!errors.Is(err, agentclient.ErrNotReady) || st.Reason == "" || !strings.Contains(err.Error(), st.Reason)) {
			t.Errorf("not ready: status %+v, error %v; want the last status, its reason in the error", st, err)
		}
	}
}
