package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// httpClient fetches bundles. It has no timeout: bundles are large, and the
// caller's context bounds the wait.
var httpClient = &http.Client{}

// maxRedirects bounds the redirects one request follows.
const maxRedirects = 10

// newClient is httpClient, refusing a redirect from https to plain http
// unless the bundle's sha256 is checked: such a downgrade would undo what
// https promised.
func newClient(checked bool) *http.Client {
	c := *httpClient
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errdefs.Unavailable("stopped after %d redirects", maxRedirects)
		}
		if !checked && req.URL.Scheme != "https" {
			return errdefs.InvalidArgument("%s redirected to plain http (%s): pass --sha256 with the bundle's sha256 to accept it", redact(via[0].URL), redact(req.URL))
		}
		return nil
	}
	return &c
}

// partialMeta sits beside a .partial download (as .partial.meta) and says
// what the bytes are, so a later try resumes only the same resource.
type partialMeta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// validator is the If-Range value: a strong ETag, else Last-Modified.
func (pm partialMeta) validator() string {
	if pm.ETag != "" && !strings.HasPrefix(pm.ETag, "W/") {
		return pm.ETag
	}
	return pm.LastModified
}

// download fetches u into partial, resuming from partial's current length
// when an earlier try for the same URL left a validator to check.
func download(ctx context.Context, client *http.Client, u *url.URL, partial string, prog progress.Func) error {
	step := "downloading " + redact(u)
	prog.Step(step)
	again, err := fetch(ctx, client, u, partial, true, prog, step)
	if err == nil && again {
		_, err = fetch(ctx, client, u, partial, false, prog, step)
	}
	return err
}

// fetch makes one request. It reports again when it dropped the partial
// file and a plain GET should follow.
func fetch(ctx context.Context, client *http.Client, u *url.URL, partial string, resume bool, prog progress.Func, step string) (again bool, err error) {
	have, meta := resumable(partial, u)
	if !resume {
		have = 0
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, errdefs.InvalidArgument("bundle URL %s: %v", redact(u), err)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		req.Header.Set("If-Range", meta.validator())
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if errors.Is(err, errdefs.ErrInvalidArgument) {
			return false, fmt.Errorf("downloading %s: %w", redact(u), errors.Unwrap(err))
		}
		return false, errdefs.Unavailable("downloading %s: %v", redact(u), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			removePartial(partial)
			return true, nil
		}
		prog.Note(step, fmt.Sprintf("resuming at byte %d", have))
		return false, writeBody(ctx, u, resp.Body, partial, have, total, prog, step)
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			prog.Note(step, "the bundle changed on the server; starting over")
		}
		meta = partialMeta{URL: u.String(), ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
		if err := writeMeta(partial, meta); err != nil {
			return false, err
		}
		return false, writeBody(ctx, u, resp.Body, partial, 0, resp.ContentLength, prog, step)
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		if _, total, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && total == have {
			return false, nil // an earlier try downloaded it all
		}
		removePartial(partial)
		return true, nil
	default:
		return false, statusError(u, resp)
	}
}

// resumable returns how many bytes of partial can be resumed for u, and
// the metadata that says so; 0 when there is nothing safe to resume.
func resumable(partial string, u *url.URL) (int64, partialMeta) {
	fi, err := os.Stat(partial)
	if err != nil || !fi.Mode().IsRegular() {
		return 0, partialMeta{}
	}
	data, err := os.ReadFile(partial + ".meta")
	var meta partialMeta
	if err != nil || json.Unmarshal(data, &meta) != nil || meta.URL != u.String() || meta.validator() == "" {
		return 0, partialMeta{}
	}
	return fi.Size(), meta
}

func writeMeta(partial string, meta partialMeta) error {
	data, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(partial+".meta", data, 0o600); err != nil {
		return fmt.Errorf("recording download state: %w", err)
	}
	return nil
}

func removePartial(partial string) {
	os.Remove(partial)
	os.Remove(partial + ".meta")
}

// writeBody writes body into partial from offset on, reporting progress
// against total (the whole file's size, or < 0 when unknown).
func writeBody(ctx context.Context, u *url.URL, body io.Reader, partial string, offset, total int64, prog progress.Func, step string) error {
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening %s: %w", partial, err)
	}
	defer f.Close()
	if err := f.Truncate(offset); err != nil {
		return fmt.Errorf("preparing %s: %w", partial, err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("preparing %s: %w", partial, err)
	}
	r := shifted(prog, offset).Reader(ctxReader{ctx, body}, step, max(total, 0))
	n, err := io.CopyBuffer(f, r, make([]byte, copyBufSize))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil && total >= 0 && offset+n != total {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return errdefs.Unavailable("downloading %s: %v; run the import again to resume", redact(u), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", partial, err)
	}
	return nil
}

// parseContentRange reads "bytes START-END/TOTAL" or "bytes */TOTAL",
// returning START (-1 for "*") and TOTAL (-1 for "*").
func parseContentRange(s string) (start, total int64, ok bool) {
	rng, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	span, size, ok := strings.Cut(rng, "/")
	if !ok {
		return 0, 0, false
	}
	start, total = -1, -1
	var err error
	if size != "*" {
		if total, err = strconv.ParseInt(size, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	if span != "*" {
		first, _, ok := strings.Cut(span, "-")
		if !ok {
			return 0, 0, false
		}
		if start, err = strconv.ParseInt(first, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// statusError turns an unwanted HTTP answer into an error of the right kind.
func statusError(u *url.URL, resp *http.Response) error {
	msg := fmt.Sprintf("downloading %s: the server answered %s", redact(u), resp.Status)
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return errdefs.NotFound("%s: check the URL", msg)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return errdefs.FailedPrecondition("%s: banger sends no credentials, so the bundle must be public", msg)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return errdefs.Unavailable("%s; try again later", msg)
	default:
		return errdefs.InvalidArgument("%s", msg)
	}
}

// redact shows a URL without credentials, query or fragment, which may hold
// secrets (signed URLs).
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}
