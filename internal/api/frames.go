package api

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// UpgradeProtocol is what exec and attach requests ask to upgrade to
// (Connection: Upgrade, Upgrade: UpgradeProtocol). Once bangerd answers
// 101 Switching Protocols, the connection carries frames both ways: one
// kind byte, a 4-byte big-endian payload length, the payload.
const UpgradeProtocol = "banger-stream/1"

// FrameKind says what a frame carries.
type FrameKind byte

// Frames from the client.
const (
	FrameStdin    FrameKind = 'i' // bytes for the command's input
	FrameStdinEOF FrameKind = 'I' // the input ended (no payload)
	FrameResize   FrameKind = 'r' // the terminal's size: rows, cols as two big-endian uint16
	FrameSignal   FrameKind = 's' // a signal name for the command ("INT")
)

// Frames from bangerd.
const (
	FrameStdout FrameKind = 'o'
	FrameStderr FrameKind = 'e'
	// FrameExit: JSON ExitStatus; the last frame.
	FrameExit FrameKind = 'x'
	// FrameError: JSON Error; the last frame, when the command's end is
	// unknown (the guest went away) or a file route failed.
	FrameError FrameKind = 'E'
	// FrameFile: JSON GuestFile, the file a file route reads or wrote.
	FrameFile FrameKind = 'f'
)

// MaxFramePayload bounds a frame's payload.
const MaxFramePayload = 1 << 20

// FrameWriter writes frames; its methods may be called concurrently.
type FrameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewFrameWriter writes frames to w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// Write sends one frame.
func (fw *FrameWriter) Write(kind FrameKind, payload []byte) error {
	if len(payload) > MaxFramePayload {
		return fmt.Errorf("frame of %d bytes: the limit is %d", len(payload), MaxFramePayload)
	}
	b := make([]byte, 5+len(payload))
	b[0] = byte(kind)
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	copy(b[5:], payload)
	fw.mu.Lock()
	defer fw.mu.Unlock()
	_, err := fw.w.Write(b)
	return err
}

// ResizePayload encodes a terminal size for FrameResize.
func ResizePayload(rows, cols uint16) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint16(b, rows)
	binary.BigEndian.PutUint16(b[2:], cols)
	return b
}

// ParseResize decodes FrameResize's payload.
func ParseResize(p []byte) (rows, cols uint16, err error) {
	if len(p) != 4 {
		return 0, 0, errors.New("resize frame: want 4 bytes")
	}
	return binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]), nil
}

// ReadFrame reads one frame. io.EOF means the stream ended cleanly between
// frames.
func ReadFrame(r io.Reader) (FrameKind, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("reading a frame: %w", err)
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxFramePayload {
		return 0, nil, fmt.Errorf("frame of %d bytes: the limit is %d", n, MaxFramePayload)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, fmt.Errorf("reading a frame: %w", io.ErrUnexpectedEOF)
	}
	return FrameKind(hdr[0]), p, nil
}
