package agent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
	"banger/internal/version"
)

func TestHelloOnTheWire(t *testing.T) {
	g := newGuest(t)
	host, _ := pipeHost(t, g.opts)
	r := newRawHost(t, host).send(`{"v":1,"id":41,"op":"hello"}` + "\n")
	if !r.OK || r.V != 1 || r.ID != 41 || r.Hello == nil {
		t.Fatalf("hello answer = %+v; want ok, v 1, id 41 and a hello", r)
	}
	h := r.Hello
	if h.Agent != version.Version || h.Protocol != agentproto.Version || h.BootID != "0f1e2d3c-boot" || h.Hostname == "" {
		t.Errorf("hello = %+v; want agent %s, protocol %d, boot id from procfs, a hostname", h, version.Version, agentproto.Version)
	}
}

func TestStatusReadyWithSSHD(t *testing.T) {
	g := newGuest(t)
	keys := g.addHostKeys(t)
	g.startSSHD(t)
	host, _ := pipeHost(t, g.opts)
	c := agentclient.NewConn(host)
	st, err := c.Status(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Ready || !st.SSH || st.Reason != "" {
		t.Errorf("status = %+v; want ready, with ssh, no reason", st)
	}
	if !slices.Equal(st.HostKeys, keys) {
		t.Errorf("host keys = %q; want %q (public keys only, trimmed)", st.HostKeys, keys)
	}
	// Each connection would cost the guest an sshd process and a line
	// in its log: the agent looks at the socket table instead.
	if n := g.sshdConns.Load(); n != 0 {
		t.Errorf("the status check connected to sshd %d times; want none", n)
	}
	if !slices.Equal(st.Addresses, []string{"172.16.0.2/24"}) || st.Uptime != 12.5 || st.Hostname == "" {
		t.Errorf("status = %+v; want the guest's addresses, uptime 12.5 and hostname", st)
	}
}

func TestStatusNotReadyReasons(t *testing.T) {
	g := newGuest(t)
	host, _ := pipeHost(t, g.opts)
	c := agentclient.NewConn(host)
	ctx := testCtx(t)

	st, err := c.Status(ctx)
	if err != nil || st.Ready || !st.SSH || !strings.Contains(st.Reason, "ssh_host_ed25519_key.pub") {
		t.Fatalf("no host key: status %+v, %v; want not ready, naming the missing key", st, err)
	}
	g.addHostKeys(t)
	st, err = c.Status(ctx)
	if err != nil || st.Ready || !strings.Contains(st.Reason, "does not listen on "+g.sshAddr) {
		t.Fatalf("sshd not listening: status %+v, %v; want not ready, naming %s", st, err, g.sshAddr)
	}
}

func TestStatusWithoutSSHDIsReady(t *testing.T) {
	g := newGuest(t)
	g.opts.SSHDPath = g.opts.SSHDPath + ".absent"
	host, _ := pipeHost(t, g.opts)
	st, err := agentclient.NewConn(host).Status(testCtx(t))
	if err != nil || !st.Ready || st.SSH || len(st.HostKeys) != 0 {
		t.Fatalf("status = %+v, %v; want ready without ssh or host keys", st, err)
	}
}

func TestWaitReadyAnswersWhenSSHDComesUp(t *testing.T) {
	g := newGuest(t)
	g.addHostKeys(t)
	// sshd starts only once the agent has found it missing a few times, so
	// the answer can only be "ready" if the agent kept waiting.
	g.onProbe = func(n int64) {
		if n == 3 {
			g.startSSHD(t)
		}
	}
	host, _ := pipeHost(t, g.opts)
	st, err := agentclient.NewConn(host).WaitReady(testCtx(t), time.Minute)
	if err != nil || !st.Ready {
		t.Fatalf("wait-ready = %+v, %v; want ready", st, err)
	}
	if n := g.probes.Load(); n < 3 {
		t.Errorf("the agent checked readiness %d times; want at least 3 (sshd came up at the third)", n)
	}
}

func TestWaitReadyTimesOutWithReason(t *testing.T) {
	g := newGuest(t)
	host, _ := pipeHost(t, g.opts)
	h := newRawHost(t, host)
	r := h.send(`{"v":1,"id":2,"op":"wait-ready","timeout_ms":30}` + "\n")
	if r.OK || r.Code != agentproto.CodeNotReady || r.Status == nil || r.Status.Ready || !strings.Contains(r.Error, "host key") {
		t.Fatalf("answer = %+v; want not-ready with the status and a reason about the host key", r)
	}

	st, err := agentclient.NewConn(host).WaitReady(testCtx(t), 30*time.Millisecond)
	if !errors.Is(err, agentclient.ErrNotReady) || !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "host key") {
		t.Fatalf("client WaitReady error = %v; want ErrNotReady, unavailable, with the reason", err)
	}
	if st.Ready || st.Reason == "" {
		t.Errorf("client WaitReady status = %+v; want the not-ready status", st)
	}
}

func TestBadRequestsKeepTheConnection(t *testing.T) {
	g := newGuest(t)
	host, _ := pipeHost(t, g.opts)
	h := newRawHost(t, host)
	for _, tc := range []struct {
		line, code, mention string
		v                   int // the answer's version: the request's, else the agent's own
	}{
		{`{"v":1,"id":5,"op":"frobnicate"}`, agentproto.CodeUnknownOp, `"frobnicate"`, 1},
		{`{"v":1,"id":5,"op":"exec"}`, agentproto.CodeBadRequest, "streams", 1},
		{`{"v":3,"id":6,"op":"hello"}`, agentproto.CodeUnsupportedVersion, "version 3", agentproto.Version},
		{`garbage`, agentproto.CodeBadRequest, "JSON", agentproto.Version},
		{`{"v":1,"id":7,"op":"hel`, agentproto.CodeBadRequest, "JSON", agentproto.Version},
		{strings.Repeat("x", agentproto.MaxLine+1), agentproto.CodeBadRequest, "longer", agentproto.Version},
	} {
		r := h.send(tc.line + "\n")
		if r.OK || r.Code != tc.code || r.V != tc.v || !strings.Contains(r.Error, tc.mention) {
			t.Errorf("%.40s: answer %+v; want v %d, code %s, an error mentioning %s", tc.line, r, tc.v, tc.code, tc.mention)
		}
		// The next good request on the same connection is answered.
		if r := h.send(`{"v":1,"id":9,"op":"hello"}` + "\n"); !r.OK || r.ID != 9 {
			t.Fatalf("hello after %.40s: %+v; want ok with id 9", tc.line, r)
		}
	}
}

func TestEmptyLinesAreIgnored(t *testing.T) {
	g := newGuest(t)
	host, _ := pipeHost(t, g.opts)
	h := newRawHost(t, host)
	// Were the blank lines answered, the first answer read would not be
	// the hello's.
	if r := h.send("\n\r\n  \n" + `{"v":1,"id":3,"op":"hello"}` + "\n"); !r.OK || r.ID != 3 {
		t.Fatalf("answer = %+v; want the hello's, id 3", r)
	}
}

func TestShutdownAnswersThenPowersOff(t *testing.T) {
	g := newGuest(t)
	// Like the real thing, this power-off does not return (until the test
	// ends): had the agent powered off first, no answer would come.
	powered, release := make(chan struct{}, 1), make(chan struct{})
	t.Cleanup(func() { close(release) })
	g.opts.Poweroff = func() error {
		powered <- struct{}{}
		<-release
		return nil
	}
	host, _ := pipeHost(t, g.opts)
	r := newRawHost(t, host).send(`{"v":1,"id":1,"op":"shutdown"}` + "\n")
	if !r.OK || r.ID != 1 {
		t.Fatalf("shutdown answer = %+v; want ok", r)
	}
	select {
	case <-powered:
	case <-testCtx(t).Done():
		t.Fatal("the guest never powered off")
	}
}

func TestShutdownRefusedWithoutPoweroff(t *testing.T) {
	g := newGuest(t)
	host, _ := pipeHost(t, g.opts)
	err := agentclient.NewConn(host).Shutdown(testCtx(t))
	if err == nil || !strings.Contains(err.Error(), "cannot power") {
		t.Fatalf("Shutdown = %v; want a refusal", err)
	}
}

func TestHostLeavingEndsAWait(t *testing.T) {
	g := newGuest(t)
	host, done := pipeHost(t, g.opts)
	if _, err := host.Write([]byte(`{"v":1,"id":1,"op":"wait-ready","timeout_ms":600000}` + "\n")); err != nil {
		t.Fatal(err)
	}
	host.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeConn = %v; want nil when the host leaves", err)
		}
	case <-testCtx(t).Done():
		t.Fatal("the agent kept waiting for a host that left")
	}
}

func TestIdentifyOncePerBootThenReady(t *testing.T) {
	g := newGuest(t)
	g.addHostKeys(t)
	g.startSSHD(t)
	var got []agentproto.Identity
	g.opts.Identify = func(_ context.Context, id agentproto.Identity) error {
		got = append(got, id)
		return nil
	}
	host, _ := pipeHost(t, g.opts)
	c := agentclient.NewConn(host)
	id := agentproto.Identity{Hostname: "clone", MAC: "02:00:00:00:00:01", Address: "172.16.0.9/24", Entropy: []byte{1, 2, 3}, TimeUnixNano: 42}
	st, err := c.Identify(testCtx(t), id, time.Second)
	if err != nil || !st.Ready || len(got) != 1 || got[0].Hostname != "clone" || string(got[0].Entropy) != "\x01\x02\x03" {
		t.Fatalf("Identify = %+v, %v; identities applied %+v", st, err, got)
	}
	if _, err := c.Identify(testCtx(t), id, time.Second); err == nil || !strings.Contains(err.Error(), "already") || len(got) != 1 {
		t.Fatalf("second Identify = %v (applied %d times); want a refusal", err, len(got))
	}
}

// TestPrepareSnapshotRearmsIdentify: a guest saved in a snapshot flushes
// its disks first, and each VM restored from it may take an identity
// again, though the guest already took one since it booted.
func TestPrepareSnapshotRearmsIdentify(t *testing.T) {
	g := newGuest(t)
	g.addHostKeys(t)
	g.startSSHD(t)
	var applied, syncs int
	g.opts.Identify = func(context.Context, agentproto.Identity) error { applied++; return nil }
	g.opts.Sync = func() { syncs++ }
	host, _ := pipeHost(t, g.opts)
	c := agentclient.NewConn(host)
	id := agentproto.Identity{Hostname: "clone", TimeUnixNano: 42}
	if _, err := c.Identify(testCtx(t), id, time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := agentclient.Upgrade(testCtx(t), c)
	if err != nil {
		t.Fatal(err)
	}
	identify := func() error {
		_, err := m.Call(testCtx(t), agentproto.Request{Op: agentproto.OpIdentify, Identity: &id, TimeoutMS: 1000})
		return err
	}
	if err := identify(); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("second identify before a snapshot = %v; want a refusal", err)
	}
	if err := m.PrepareSnapshot(testCtx(t)); err != nil || syncs != 1 {
		t.Fatalf("PrepareSnapshot = %v with %d syncs; want ok after one sync", err, syncs)
	}
	if err := identify(); err != nil || applied != 2 {
		t.Fatalf("identify after a snapshot = %v (applied %d times); want it taken", err, applied)
	}
	if err := identify(); err == nil {
		t.Fatal("a third identify was taken; want one per snapshot")
	}
}

func TestIdentifyFailureIsReported(t *testing.T) {
	g := newGuest(t)
	g.opts.Identify = func(context.Context, agentproto.Identity) error { return errors.New("network: no eth0") }
	host, _ := pipeHost(t, g.opts)
	_, err := agentclient.NewConn(host).Identify(testCtx(t), agentproto.Identity{Hostname: "x"}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "no eth0") {
		t.Fatalf("Identify = %v; want the guest's reason", err)
	}
}
