package envd

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// do sends a request to the rig and returns the status and body.
func (r *rig) do(t *testing.T, method, target string, body io.Reader, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), method, r.url+target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndEnvs(t *testing.T) {
	r := newRig(t)
	if code, _ := r.do(t, "GET", "/health", nil, nil); code != http.StatusNoContent {
		t.Errorf("GET /health = %d; want 204", code)
	}
	code, body := r.do(t, "GET", "/envs", nil, nil)
	if code != 200 || strings.TrimSpace(body) != `{"FROM_SANDBOX":"yes"}` {
		t.Errorf("GET /envs = %d %s; want the sandbox's env", code, body)
	}
}

func TestGetFile(t *testing.T) {
	r := newRig(t)
	r.write(t, "/root/data.bin", "bytes\x00here")
	if code, body := r.do(t, "GET", "/files?path=data.bin&username=user", nil, nil); code != 200 || body != "bytes\x00here" {
		t.Errorf("GET /files = %d %q; want the file's bytes", code, body)
	}
	code, body := r.do(t, "GET", "/files?path=/nothing", nil, nil)
	var e restError
	if code != 404 || json.Unmarshal([]byte(body), &e) != nil || e.Code != 404 || !strings.Contains(e.Message, "/nothing") {
		t.Errorf("GET /files of nothing = %d %s; want 404 with a JSON message", code, body)
	}
	if code, _ := r.do(t, "GET", "/files?path=/root", nil, nil); code != 400 {
		t.Errorf("GET /files of a directory = %d; want 400", code)
	}
	if code, _ := r.do(t, "GET", "/files?path=data.bin&username=mallory", nil, nil); code != 400 {
		t.Errorf("GET /files as an unknown user = %d; want 400", code)
	}
}

func TestPostFilesMultipart(t *testing.T) {
	r := newRig(t)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for name, content := range map[string]string{"/srv/deep/one.txt": "1", "two.txt": "2"} {
		w, _ := mw.CreateFormFile("file", name)
		io.WriteString(w, content)
	}
	mw.Close()
	code, out := r.do(t, "POST", "/files", &body, http.Header{"Content-Type": {mw.FormDataContentType()}})
	var got []writtenFile
	if code != 200 || json.Unmarshal([]byte(out), &got) != nil || len(got) != 2 {
		t.Fatalf("POST /files = %d %s; want two written files", code, out)
	}
	for _, f := range got {
		if f.Type != "file" || (f.Path != "/srv/deep/one.txt" && f.Path != "/root/two.txt") {
			t.Errorf("written %+v; want each at its part's filename", f)
		}
	}
	if b, _ := os.ReadFile(r.files.host("/srv/deep/one.txt")); string(b) != "1" {
		t.Errorf("/srv/deep/one.txt = %q", b)
	}
}

func TestPostFilesOctetStream(t *testing.T) {
	r := newRig(t)
	code, out := r.do(t, "POST", "/files?path=/tmp/plain", strings.NewReader("plain"), http.Header{"Content-Type": {"application/octet-stream"}})
	if code != 200 || !strings.Contains(out, `"path":"/tmp/plain"`) {
		t.Errorf("POST octet-stream = %d %s", code, out)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	io.WriteString(zw, "zipped")
	zw.Close()
	h := http.Header{"Content-Type": {"application/octet-stream"}, "Content-Encoding": {"gzip"}}
	if code, out := r.do(t, "POST", "/files?path=/tmp/z", &z, h); code != 200 {
		t.Errorf("POST gzip = %d %s", code, out)
	}
	if b, _ := os.ReadFile(r.files.host("/tmp/z")); string(b) != "zipped" {
		t.Errorf("gzip upload wrote %q; want it decoded", b)
	}
	if code, _ := r.do(t, "POST", "/files", strings.NewReader("x"), h); code != 400 {
		t.Errorf("POST octet-stream without a path = %d; want 400", code)
	}
}

func signedURL(p, op, user, token string, exp int64) string {
	q := url.Values{"path": {p}, "username": {user}}
	e := ""
	if exp != 0 {
		e = strconv.FormatInt(exp, 10)
		q.Set("signature_expiration", e)
	}
	q.Set("signature", signature(p, op, user, token, e))
	return "/files?" + q.Encode()
}

func TestSignedURLs(t *testing.T) {
	r := newRig(t)
	r.sb.AccessToken = "s3cret"
	r.write(t, "/root/f", "content")
	if code, body := r.do(t, "GET", signedURL("/root/f", "read", "user", "s3cret", 0), nil, nil); code != 200 || body != "content" {
		t.Errorf("a signed download = %d %q", code, body)
	}
	later := time.Now().Add(time.Hour).Unix()
	if code, _ := r.do(t, "GET", signedURL("/root/f", "read", "user", "s3cret", later), nil, nil); code != 200 {
		t.Errorf("a signed download with an expiry = %d", code)
	}
	cases := map[string]string{
		"no signature":      "/files?path=/root/f",
		"another token":     signedURL("/root/f", "read", "user", "guess", 0),
		"a write signature": signedURL("/root/f", "write", "user", "s3cret", 0),
		"an expired one":    signedURL("/root/f", "read", "user", "s3cret", time.Now().Add(-time.Minute).Unix()),
		"another path":      strings.Replace(signedURL("/root/f", "read", "user", "s3cret", 0), "f&", "g&", 1),
		"a tampered expiry": strings.Replace(signedURL("/root/f", "read", "user", "s3cret", later), strconv.FormatInt(later, 10), strconv.FormatInt(later+99, 10), 1),
	}
	for name, target := range cases {
		if code, body := r.do(t, "GET", target, nil, nil); code != 401 {
			t.Errorf("%s: GET = %d %s; want 401", name, code, body)
		}
	}
	if code, _ := r.do(t, "GET", "/files?path=/root/f", nil, http.Header{"X-Access-Token": {"s3cret"}}); code != 200 {
		t.Errorf("with the token header = %d; want 200", code)
	}
	if code, _ := r.do(t, "GET", "/files?path=/root/f", nil, http.Header{"X-Access-Token": {"nope"}}); code != 401 {
		t.Errorf("with a wrong token header = %d; want 401", code)
	}
	up := signedURL("/root/up", "write", "", "s3cret", 0)
	if code, body := r.do(t, "POST", up, strings.NewReader("u"), http.Header{"Content-Type": {"application/octet-stream"}}); code != 200 {
		t.Errorf("a signed upload = %d %s", code, body)
	}
}

func TestSignatureMatchesTheSDKsRecipe(t *testing.T) {
	// "v1_" + unpadded base64 of sha256("/a:read:user:tok"), worked out
	// independently with sha256sum and base64.
	if got, want := signature("/a", "read", "user", "tok", ""), "v1_"+sdkDigest; got != want {
		t.Errorf("signature = %s; want %s", got, want)
	}
}

const sdkDigest = "Fh5abAPjRBN6FHQ5HTJwGAHjHfzJmhV0f2EtHLgLVa0"

func TestUploadWithMetadataIsRefused(t *testing.T) {
	r := newRig(t)
	h := http.Header{"Content-Type": {"application/octet-stream"}, "X-Metadata-Owner": {"me"}}
	if code, body := r.do(t, "POST", "/files?path=/tmp/m", strings.NewReader("x"), h); code != 400 || !strings.Contains(body, "metadata") {
		t.Errorf("upload with metadata = %d %s; want 400 saying metadata is unsupported", code, body)
	}
	if _, err := os.Stat(r.files.host("/tmp/m")); !os.IsNotExist(err) {
		t.Errorf("the refused upload was written: %v", err)
	}
}
