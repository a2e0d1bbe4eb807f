package agentclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// dialSockaddr connects a stream socket of a family the net package does
// not know (AF_VSOCK) to sa. The socket is an *os.File, which the runtime
// still polls, so deadlines and ctx apply to the connect and to later I/O.
func dialSockaddr(ctx context.Context, family int, sa unix.Sockaddr) (*os.File, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("creating a socket: %w", err)
	}
	err = unix.Connect(fd, sa)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "agent")
	if err == nil {
		return f, nil
	}
	if err := waitConnected(ctx, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// waitConnected waits for f's connect to finish and says how it ended.
func waitConnected(ctx context.Context, f *os.File) error {
	stop := bindDeadline(ctx, f.SetWriteDeadline)
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var soErr error
	first := true
	err = rc.Write(func(fd uintptr) bool {
		if first { // connecting: wait until the socket is writable
			first = false
			return false
		}
		errno, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && errno != 0 {
			err = unix.Errno(errno)
		}
		soErr = err
		return true
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("connecting: %w", ctx.Err())
		}
		return fmt.Errorf("connecting: %w", err)
	}
	return soErr
}

// bindDeadline applies ctx's deadline and cancellation to I/O through set
// until the returned function is called; that function clears the
// deadline again and returns only once ctx's watcher can no longer touch
// it.
func bindDeadline(ctx context.Context, set func(time.Time) error) func() {
	dl, _ := ctx.Deadline() // zero: none
	set(dl)
	ran := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(ran)
		set(time.Unix(1, 0))
	})
	return func() {
		if !stop() {
			<-ran
		}
		set(time.Time{})
	}
}
