package vm

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"banger/internal/store"
)

// sshReadyWait bounds the wait for a ready guest's sshd to answer from
// the host: the agent has already seen it listen inside the guest.
const sshReadyWait = 60 * time.Second

// sshReadinessAddr is where the host reaches v's sshd, or "" when the
// host is not meant to (no address).
func sshReadinessAddr(v store.VM) string {
	if v.IP == "" {
		return ""
	}
	return net.JoinHostPort(v.IP, "22")
}

// waitGuestSSH waits until v's sshd answers from the host (see waitSSH),
// when the host is meant to reach it.
func waitGuestSSH(ctx context.Context, log *slog.Logger, v store.VM) error {
	addr := sshReadinessAddr(v)
	if addr == "" {
		return nil
	}
	began := time.Now()
	if err := waitSSH(ctx, addr); err != nil {
		return err
	}
	log.Info("sshd answers from the host", "vm", v.Name, "waited", time.Since(began).Round(time.Millisecond))
	return nil
}

// waitSSH waits, within sshReadyWait, until sshd answers at addr from the
// host: a TCP connection on which it sends its version banner. The agent
// reports ready once sshd accepts inside the guest, which can come before
// the guest's address is up on its NIC (networkd applies it while the
// agent and sshd start); a VM is called running only once a user's ssh
// would connect.
func waitSSH(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, sshReadyWait)
	defer cancel()
	var last error
	for {
		if last = sshBanner(ctx, addr); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the guest's sshd does not answer on %s from the host: %w", addr, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sshBanner connects to addr and reads the first line sshd sends. The
// connection gets 2 s; the banner as long as ctx allows: a guest busy
// booting (sshd re-executes itself for each connection, which takes
// seconds under emulation) is slow, not absent, and giving up on each
// connection early would only pile more of them onto it.
func sshBanner(ctx context.Context, addr string) error {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		c.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	line, err := bufio.NewReaderSize(c, 256).ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("reading sshd's banner: %w", err)
	}
	if !strings.HasPrefix(string(line), "SSH-") {
		return fmt.Errorf("not an ssh server: it said %q", strings.TrimSpace(string(line)))
	}
	return nil
}
