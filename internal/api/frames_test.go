package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	fw.Write(FrameStdin, []byte("hello"))
	fw.Write(FrameStdinEOF, nil)
	fw.Write(FrameResize, ResizePayload(40, 120))
	for _, want := range []struct {
		kind FrameKind
		p    string
	}{{FrameStdin, "hello"}, {FrameStdinEOF, ""}, {FrameResize, string(ResizePayload(40, 120))}} {
		kind, p, err := ReadFrame(&buf)
		if err != nil || kind != want.kind || string(p) != want.p {
			t.Fatalf("ReadFrame = %q %q %v; want %q %q", kind, p, err, want.kind, want.p)
		}
	}
	if _, _, err := ReadFrame(&buf); !errors.Is(err, io.EOF) {
		t.Fatalf("ReadFrame at the end = %v; want io.EOF", err)
	}
	if rows, cols, err := ParseResize(ResizePayload(40, 120)); err != nil || rows != 40 || cols != 120 {
		t.Errorf("ParseResize = %d %d %v", rows, cols, err)
	}
}

func TestFramesRefuseBadInput(t *testing.T) {
	if err := NewFrameWriter(io.Discard).Write(FrameStdin, make([]byte, MaxFramePayload+1)); err == nil {
		t.Error("an oversized frame was written")
	}
	hdr := []byte{byte(FrameStdout), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[1:], MaxFramePayload+1)
	if _, _, err := ReadFrame(bytes.NewReader(hdr)); err == nil {
		t.Error("an oversized frame was read")
	}
	if _, _, err := ReadFrame(bytes.NewReader([]byte{byte(FrameStdout), 0, 0, 0, 9, 'x'})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a truncated frame: %v; want ErrUnexpectedEOF", err)
	}
	if _, _, err := ReadFrame(bytes.NewReader([]byte{byte(FrameStdout), 0})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a truncated header: %v; want ErrUnexpectedEOF", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{'o', 0, 0, 0, 2, 'h', 'i'})
	f.Add([]byte{'x', 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, p, err := ReadFrame(bytes.NewReader(b))
		if err == nil && (len(b) < 5 || len(p) != int(binary.BigEndian.Uint32(b[1:5])) || byte(kind) != b[0]) {
			t.Fatalf("ReadFrame(%q) = %q %q without error", b, kind, p)
		}
	})
}
