package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"banger/internal/api"
	"banger/internal/progress"
)

// Stream sends a request whose answer is a stream of events, calling
// onProgress for each progress event and decoding the final result into
// out. Cancelling ctx closes the connection, which cancels the daemon's work.
func (c *Client) Stream(ctx context.Context, method, path string, in any, onProgress progress.Func, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 || resp.Header.Get("Content-Type") != api.StreamContentType {
		return c.decode(resp, out)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev api.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("decoding bangerd's progress: %w", err)
		}
		switch {
		case ev.Error != nil:
			return ev.Error.Err()
		case ev.Result != nil:
			if out == nil {
				return nil
			}
			return json.Unmarshal(ev.Result, out)
		case ev.Progress != nil:
			onProgress.Report(*ev.Progress)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading bangerd's answer: %w", err)
	}
	return fmt.Errorf("bangerd ended the answer without a result; see `banger daemon logs`")
}

// Download fetches a binary answer into w.
func (c *Client) Download(ctx context.Context, path string, w io.Writer) (int64, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return 0, c.decode(resp, nil)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("receiving from bangerd: %w", err)
	}
	return n, nil
}

// marshalBody encodes an optional JSON request body.
func marshalBody(in any) (io.Reader, error) {
	if in == nil {
		return nil, nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	return bytes.NewReader(b), nil
}
