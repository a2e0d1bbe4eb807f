package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netns"
)

// netNS is a network namespace the bench makes for its VMs: the daemon,
// the CLI, QEMU and ssh run in it, so bridges, taps and guest addresses
// never touch the host's own network.
type netNS struct {
	name string
	env  []string
}

func newNetNS(env []string) (*netNS, error) {
	n := &netNS{name: fmt.Sprintf("banger-bench-%d", os.Getpid()), env: env}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", n.name, err, out)
	}
	if err := n.ip("link", "set", "lo", "up"); err != nil {
		n.delete()
		return nil, err
	}
	return n, nil
}

func (n *netNS) delete() {
	if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: ip netns del %s: %v: %s\n", n.name, err, out)
	}
}

// command runs name in the namespace, with the bench's environment.
func (n *netNS) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.name, name}, args...)...)
	cmd.Env = n.env
	return cmd
}

// ip runs `ip -n NAME args...`.
func (n *netNS) ip(args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", n.name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s %s: %v: %s", n.name, strings.Join(args, " "), err, out)
	}
	return nil
}

// dial opens a TCP connection from inside the namespace. The socket is
// made on a thread moved into the namespace and keeps it; that thread is
// never handed back to the runtime, so it ends with its goroutine, and no
// other code can ever run in the namespace by mistake. Nothing is sent
// when the move fails.
func (n *netNS) dial(addr string, timeout time.Duration) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread exits with the goroutine
		target, err := netns.GetFromName(n.name)
		if err != nil {
			done <- result{nil, fmt.Errorf("opening namespace %s: %w", n.name, err)}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			done <- result{nil, fmt.Errorf("entering namespace %s: %w", n.name, err)}
			return
		}
		conn, err := net.DialTimeout("tcp", addr, timeout)
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}

// startByHand starts a QEMU command line in the namespace, its output in
// logPath. exited is closed when it ends; stop kills it and waits.
func (n *netNS) startByHand(ctx context.Context, argv []string, logPath string) (exited <-chan struct{}, stop func(), err error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	cmd := n.command(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); log.Close(); close(done) }()
	return done, func() { cmd.Process.Kill(); <-done }, nil
}
