package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/ctxtime"
)

// maxReopenPause caps the pause between attempts to reopen the port.
const maxReopenPause = time.Second

// waitSerialPort finds the serial port, waiting up to DeviceWait for it
// to appear.
func (s *Server) waitSerialPort(ctx context.Context) (string, error) {
	deadline := time.Now().Add(s.opts.DeviceWait)
	for {
		if p := s.findSerialPort(); p != "" {
			return p, nil
		}
		if !time.Now().Before(deadline) {
			return "", fmt.Errorf("no virtio-serial port %q (neither %s nor a match under %s) after %v",
				s.opts.SerialName, s.opts.SerialPath, s.opts.SysVirtioPorts, s.opts.DeviceWait)
		}
		if !ctxtime.Sleep(ctx, s.opts.PollInterval) {
			return "", ctx.Err()
		}
	}
}

// findSerialPort is the port's device node, or "" while there is none.
func (s *Server) findSerialPort() string {
	if s.opts.SerialPath != "" && fileExists(s.opts.SerialPath) {
		return s.opts.SerialPath
	}
	if s.opts.SerialName == "" || s.opts.SysVirtioPorts == "" {
		return ""
	}
	entries, _ := os.ReadDir(s.opts.SysVirtioPorts)
	for _, e := range entries {
		name, err := os.ReadFile(filepath.Join(s.opts.SysVirtioPorts, e.Name(), "name"))
		if err != nil || strings.TrimSpace(string(name)) != s.opts.SerialName {
			continue
		}
		if dev := filepath.Join(s.opts.DevDir, e.Name()); fileExists(dev) {
			return dev
		}
	}
	return ""
}

// serveSerial serves the port at path until ctx ends, reopening it when it
// fails.
func (s *Server) serveSerial(ctx context.Context, path string) {
	wait := s.opts.PollInterval
	for ctx.Err() == nil {
		f, err := openSerial(path)
		if err != nil {
			if wait == s.opts.PollInterval {
				s.log.Warn("opening the serial port; retrying", "path", path, "err", err)
			}
			if p := s.findSerialPort(); p != "" {
				path = p
			}
			ctxtime.Sleep(ctx, wait)
			wait = min(2*wait, maxReopenPause)
			continue
		}
		wait = s.opts.PollInterval
		err = s.servePort(ctx, f)
		f.Close()
		if err != nil {
			s.log.Warn("serial port failed; reopening", "path", path, "err", err)
		}
	}
}

// servePort serves host connection after host connection on an open
// port, until ctx ends or reading fails otherwise than by the host leaving.
//
// A virtio-serial port reads as end of stream while no host is connected
// and cannot be polled for one to connect, so between connections the
// port is tried again every PollInterval. An end of stream ends a plain
// connection, not a multiplexed one: only a new host's hello does (see
// serialPort).
func (s *Server) servePort(ctx context.Context, port Stream) error {
	sr := newSerialReader(port, s.opts.PollInterval)
	for {
		err := s.session(ctx, port, sr, true)
		if ctx.Err() != nil {
			return nil
		}
		if _, ok := errors.AsType[*readError](err); ok {
			return err
		}
		if err != nil {
			s.log.Info("host connection lost", "err", err)
		}
		if !ctxtime.Sleep(ctx, s.opts.PollInterval) {
			return nil
		}
	}
}

// openSerial opens a serial port for reading and writing. A terminal
// (a pty standing in for the port) is made raw, so that it neither echoes
// nor edits lines.
func openSerial(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	// Control, not Fd: Fd would put the file in blocking mode and so lose
	// the deadlines sessions rely on.
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var rawErr error
	rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			return // not a terminal: a real port
		}
		makeRaw(t)
		rawErr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if rawErr != nil {
		f.Close()
		return nil, fmt.Errorf("making %s raw: %w", path, rawErr)
	}
	return f, nil
}

// makeRaw is cfmakeraw(3).
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}
