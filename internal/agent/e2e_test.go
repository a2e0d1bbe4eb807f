package agent_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/e2etest"
	"banger/internal/initramfs"
	"banger/internal/kernel/kerneltest"
	"banger/internal/vmm"
	"banger/internal/vmm/qemu"
)

// TestE2ESerial boots a VM whose root has the agent as its only program,
// so it runs as PID 1 (RunInit), and talks to it over QEMU's virtio-serial
// socket: readiness, reconnecting hosts, and a shutdown that ends QEMU.
func TestE2ESerial(t *testing.T) {
	e2etest.Require(t, "agent end-to-end test", e2etest.Boot)
	d := &qemu.Driver{}
	if d.AgentOverVsock() {
		t.Skip("agent end-to-end test: this host has vhost-vsock, so QEMU gives the guest vsock instead of the serial port this test covers")
	}
	spec := bootSpec(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	started := time.Now()
	info, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), spec) })
	consoleOnFailure(t, info.ConsoleLog)

	ep := agentclient.Endpoint{Kind: agentclient.KindSerial, Path: spec.AgentSocket}
	readyCtx, stop := context.WithTimeout(ctx, 90*time.Second)
	st, err := agentclient.WaitReady(readyCtx, ep)
	stop()
	if err != nil || !st.Ready || st.SSH {
		t.Fatalf("WaitReady = %+v, %v; want ready, without sshd", st, err)
	}
	t.Logf("ready %v after Start: %+v", time.Since(started).Round(time.Millisecond), st)

	// Commands run under the minimal init and their exit statuses come
	// back: PID 1 reaps orphans, never the agent's own children.
	c0, err := agentclient.Dial(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	m, err := agentclient.Upgrade(ctx, c0)
	if err != nil {
		t.Fatalf("upgrading to streams: %v", err)
	}
	for i := range 5 {
		out, st := execIn(ctx, t, m, "/sbin/init", "-version")
		if st == nil || st.Status() != 0 || out == "" {
			t.Fatalf("exec %d of the agent's -version = %q, %v; want its version and exit 0", i, out, st)
		}
	}
	if _, st := execIn(ctx, t, m, "/no/such/command"); st == nil || st.Status() != 127 {
		t.Fatalf("exec of a missing command: %v; want 127", st)
	}
	m.Close()

	// Hosts come and go (a daemon restarting); one leaves half a request.
	var bootID string
	for i := range 3 {
		c, err := agentclient.Dial(ctx, ep)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		h, err := c.Hello(ctx)
		if err != nil || h.BootID == "" || (bootID != "" && h.BootID != bootID) {
			t.Fatalf("hello %d = %+v, %v; want the same boot id %q each time", i, h, err, bootID)
		}
		bootID = h.BootID
		c.Close()
		// A host that dies mid-request leaves half a line behind.
		nc, err := net.Dial("unix", spec.AgentSocket)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write([]byte(`{"v":1,"id":1,"op":"sta`))
		nc.Close()
	}

	c, err := agentclient.Dial(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := d.Wait(ctx, spec); err != nil {
		t.Fatalf("waiting for QEMU to exit after the guest powered off: %v", err)
	}
	if vmm.Alive(info.PID) {
		t.Errorf("QEMU pid %d alive after the guest powered off", info.PID)
	}
}

// execIn runs argv through m and returns its output and exit status.
func execIn(ctx context.Context, t *testing.T, m *agentclient.Mux, argv ...string) (string, *agentproto.ExitStatus) {
	t.Helper()
	ch, err := m.Exec(ctx, agentproto.ExecSpec{Argv: argv})
	if err != nil {
		t.Fatalf("exec %q: %v", argv, err)
	}
	var out strings.Builder
	for {
		ev, err := ch.Next(ctx)
		if err != nil {
			t.Fatalf("exec %q: %v (output so far %q)", argv, err, out.String())
		}
		out.Write(ev.Stdout)
		if ev.Exit != nil {
			return out.String(), ev.Exit
		}
	}
}

// bootSpec builds a kernel, banger's initramfs and a root disk whose
// /sbin/init is the agent.
func bootSpec(t *testing.T) vmm.Spec {
	k := kerneltest.DebianCloud(t)
	dir := t.TempDir()
	agentBin := filepath.Join(dir, "banger-vsock-agent")
	kerneltest.GoBuild(t, agentBin, "banger/cmd/banger-vsock-agent")
	initrd := filepath.Join(dir, "initrd.img")
	f, err := os.Create(initrd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := initramfs.Build(f, initramfs.Options{InitBinary: agentBin, ModulesDir: k.ModulesDir}); err != nil {
		t.Fatalf("building the initramfs: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	rootfs := kerneltest.Rootfs(t, dir, "banger/cmd/banger-vsock-agent", "32M")
	runDir := t.TempDir()
	return vmm.Spec{
		Name: "agent-e2e", VCPU: 1, MemoryMiB: 256,
		Kernel: k.Vmlinuz, Initrd: initrd,
		Cmdline:     "root=/dev/vda ro panic=-1",
		Disks:       []vmm.Disk{{ID: "root", Path: rootfs, Format: "raw", ReadOnly: true}},
		RunDir:      runDir,
		AgentSocket: filepath.Join(runDir, "agent.sock"),
	}
}

func consoleOnFailure(t *testing.T, path string) {
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			b, _ := os.ReadFile(path)
			t.Logf("guest console:\n%s", b)
		}
	})
}
