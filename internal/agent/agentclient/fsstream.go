package agentclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// maxStderr bounds the message kept from a channel's error stream.
const maxStderr = 4 << 10

// ReadFile opens the regular file path (a link to one too) in the guest.
// The reader streams its bytes, with ctx bounding the reading too; it
// ends with io.EOF once the guest has sent them all. Close it when done.
func (m *Mux) ReadFile(ctx context.Context, path string) (io.ReadCloser, agentproto.FileInfo, error) {
	ch, resp, err := openFS(ctx, m, agentproto.Request{Op: agentproto.OpFSRead, Path: path})
	info, err := fileOf(resp, err)
	if err != nil {
		if ch != nil {
			ch.Close()
		}
		return nil, agentproto.FileInfo{}, err
	}
	return &channelReader{ctx: ctx, ch: ch, what: "reading " + path}, info, nil
}

// WriteFile writes what r holds to the guest file path, making its
// missing parents. The file appears whole, once r is at its end, or not
// at all: a new one with mode 0644, a replaced one with the mode and
// owner it had. A symbolic link is written through.
func (m *Mux) WriteFile(ctx context.Context, path string, r io.Reader) (agentproto.FileInfo, error) {
	return m.writeFile(ctx, agentproto.Request{Op: agentproto.OpFSWrite, Path: path}, r)
}

// ErrNoWriteAttrs is the error of WriteFileAttrs on an agent from before
// fs-write's mode and time; it is of kind failed precondition.
var ErrNoWriteAttrs = errors.New("the VM's guest agent predates writing a file with a mode and time: rebuild the VM's image (banger image pull) and make the VM again")

// FileAttrs are what WriteFileAttrs gives the file it writes.
type FileAttrs struct {
	// Mode's permission, setuid, setgid and sticky bits are the file's.
	Mode fs.FileMode
	// Modified, unless zero, is its modification time.
	Modified time.Time
}

// WriteFileAttrs is WriteFile that gives the file, new or replaced, the
// mode and time in a; it then belongs to the agent's user, as a copy
// does. It needs an agent that granted agentproto.FeatureWriteAttrs
// (see Has), and fails with ErrNoWriteAttrs before sending anything on
// an older one.
func (m *Mux) WriteFileAttrs(ctx context.Context, path string, r io.Reader, a FileAttrs) (agentproto.FileInfo, error) {
	if !m.Has(agentproto.FeatureWriteAttrs) {
		return agentproto.FileInfo{}, errdefs.Wrap(errdefs.KindFailedPrecondition, ErrNoWriteAttrs)
	}
	mode := uint32(a.Mode)
	req := agentproto.Request{Op: agentproto.OpFSWrite, Path: path, Mode: &mode}
	if !a.Modified.IsZero() {
		req.Modified = &a.Modified
	}
	return m.writeFile(ctx, req, r)
}

// writeFile runs one fs-write of r.
func (m *Mux) writeFile(ctx context.Context, req agentproto.Request, r io.Reader) (agentproto.FileInfo, error) {
	path := req.Path
	ch, _, err := openFS(ctx, m, req)
	if err != nil {
		return agentproto.FileInfo{}, err
	}
	defer ch.Close()
	failed := make(chan error, 1) // the error reading r
	go func() {
		if err := sendInput(ch, r); err != nil {
			failed <- fmt.Errorf("writing %s in the guest: reading the input: %w", path, err)
			ch.Close() // the guest drops what it has
		}
	}()
	out, err := io.ReadAll(io.LimitReader(&channelReader{ctx: ctx, ch: ch, what: "writing " + path}, agentproto.MaxLine))
	if err != nil {
		select {
		case ferr := <-failed:
			return agentproto.FileInfo{}, ferr
		default:
			return agentproto.FileInfo{}, err
		}
	}
	var info agentproto.FileInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return agentproto.FileInfo{}, fmt.Errorf("writing %s: the guest agent answered %.80q: %w", path, out, err)
	}
	return info, nil
}

// sendInput sends r to the channel, then its end. It returns r's error;
// one from the channel is left for the channel's end to explain.
func sendInput(ch *Channel, r io.Reader) error {
	buf := make([]byte, agentproto.MaxChunk)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := ch.Write(buf[:n]); werr != nil {
				return nil
			}
		}
		if errors.Is(err, io.EOF) {
			ch.CloseWrite()
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// channelReader reads a file op's channel output as a stream: io.EOF at
// exit status 0, or the error the status and the guest's message stand
// for.
type channelReader struct {
	ctx    context.Context
	ch     *Channel
	what   string // "reading /root/x", for errors
	buf    []byte
	stderr strings.Builder
	err    error
}

func (r *channelReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// next takes the channel's next event.
func (r *channelReader) next() {
	ev, err := r.ch.Next(r.ctx)
	switch {
	case errors.Is(err, ErrChannelEnded) || ev.End:
		r.err = errdefs.Unavailable("%s: the channel ended before the guest said how it went", r.what)
	case err != nil:
		r.err = fmt.Errorf("%s: %w", r.what, err)
	case ev.Exit != nil:
		r.err = r.exitError(*ev.Exit)
	case len(ev.Stderr) > 0 && r.stderr.Len() < maxStderr:
		r.stderr.Write(ev.Stderr[:min(len(ev.Stderr), maxStderr-r.stderr.Len())])
	default:
		r.buf = ev.Stdout
	}
}

// exitError is io.EOF for status 0, else the failure the guest reported.
func (r *channelReader) exitError(st agentproto.ExitStatus) error {
	if st.Status() == 0 {
		return io.EOF
	}
	msg := r.what + ": " + strings.TrimSpace(r.stderr.String())
	if r.stderr.Len() == 0 {
		msg = fmt.Sprintf("%s: the guest agent failed (%s)", r.what, st)
	}
	if kind, ok := agentproto.CopyKinds[st.Code]; ok {
		return errdefs.New(kind, "%s", msg)
	}
	return errors.New(msg)
}

// Close abandons the channel unless it is over.
func (r *channelReader) Close() error {
	r.ch.Close()
	return nil
}
