package envd

import (
	pb "banger/internal/e2b/envd/pb/process"
	"banger/internal/e2b/envd/pb/process/processconnect"
	"banger/internal/eventually"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
)

// The E2B SDK speaks Connect's JSON encoding over HTTP/1.1; these tests
// read the bytes on the wire instead of trusting a client to.

func TestUnaryErrorIsConnectJSON(t *testing.T) {
	r := newRig(t)
	h := http.Header{"Content-Type": {"application/json"}, "Connect-Protocol-Version": {"1"}}
	code, body := r.do(t, "POST", "/process.Process/SendSignal", strings.NewReader(`{"process":{"pid":4242},"signal":"SIGNAL_SIGKILL"}`), h)
	var e struct{ Code, Message string }
	if code != http.StatusNotFound || json.Unmarshal([]byte(body), &e) != nil || e.Code != "not_found" || !strings.Contains(e.Message, "4242") {
		t.Errorf("unary error = %d %s; want 404 {code: not_found, message}", code, body)
	}
	code, body = r.do(t, "POST", "/process.Process/List", strings.NewReader(`{}`), h)
	if code != 200 || strings.TrimSpace(body) != `{}` {
		t.Errorf("List of none = %d %s; want 200 {}", code, body)
	}
}

// envelopes splits a Connect streaming body into its messages' flags
// and payloads.
func envelopes(t *testing.T, b []byte) (flags []byte, payloads []string) {
	t.Helper()
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("truncated envelope: %q", b)
		}
		n := binary.BigEndian.Uint32(b[1:5])
		if int(n) > len(b)-5 {
			t.Fatalf("envelope of %d bytes in %d", n, len(b)-5)
		}
		flags = append(flags, b[0])
		payloads = append(payloads, string(b[5:5+n]))
		b = b[5+n:]
	}
	return flags, payloads
}

func envelope(msg string) *bytes.Reader {
	b := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	return bytes.NewReader(append(b, msg...))
}

func TestStreamIsEnvelopedJSON(t *testing.T) {
	r := newRig(t)
	h := http.Header{"Content-Type": {"application/connect+json"}, "Connect-Protocol-Version": {"1"}}
	code, body := r.do(t, "POST", "/process.Process/Start", envelope(`{"process":{"cmd":"sh","args":["-c","printf hi; exit 3"]}}`), h)
	flags, msgs := envelopes(t, []byte(body))
	if code != 200 || len(msgs) < 4 {
		t.Fatalf("Start = %d, %d messages %q; want start, data, end, end of stream", code, len(msgs), msgs)
	}
	if !strings.HasPrefix(msgs[0], `{"event":{"start":{"pid":`) {
		t.Errorf("first message %s; want a start event", msgs[0])
	}
	if msgs[1] != `{"event":{"data":{"stdout":"aGk="}}}` {
		t.Errorf("second message %s; want stdout \"hi\" in base64", msgs[1])
	}
	end := msgs[len(msgs)-2]
	if !strings.Contains(end, `"exitCode":3`) || !strings.Contains(end, `"status":"exit status 3"`) {
		t.Errorf("end message %s; want exitCode 3", end)
	}
	if flags[len(flags)-1] != 2 || msgs[len(msgs)-1] != `{}` {
		t.Errorf("last envelope %d %s; want the end-of-stream flag and {}", flags[len(flags)-1], msgs[len(msgs)-1])
	}
}

func TestStreamErrorIsInTheEndOfStream(t *testing.T) {
	r := newRig(t)
	h := http.Header{"Content-Type": {"application/connect+json"}, "Connect-Protocol-Version": {"1"}}
	code, body := r.do(t, "POST", "/process.Process/Connect", envelope(`{"process":{"pid":4242}}`), h)
	flags, msgs := envelopes(t, []byte(body))
	var end struct {
		Error struct{ Code, Message string }
	}
	if code != 200 || len(msgs) != 1 || flags[0] != 2 || json.Unmarshal([]byte(msgs[0]), &end) != nil || end.Error.Code != "not_found" {
		t.Errorf("Connect of nothing = %d %q; want 200 and an end-of-stream with not_found", code, msgs)
	}
}

func TestRequestWithoutSandboxIs500(t *testing.T) {
	srv := New(Options{})
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), "WithSandbox") {
		t.Errorf("a request with no sandbox = %d %s; want 500 saying what is missing", w.Code, w.Body)
	}
}

func TestStreamsOutliveTheListenersTimeouts(t *testing.T) {
	r := newRig(t)
	sb := r.sb
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.srv.ServeHTTP(w, req.WithContext(WithSandbox(req.Context(), sb)))
	}))
	hs.Config.WriteTimeout = 50 * time.Millisecond
	hs.Start()
	defer hs.Close()
	c := processconnect.NewProcessClient(hs.Client(), hs.URL, connect.WithProtoJSON())
	s, err := c.Start(testCtx(t), connect.NewRequest(&pb.StartRequest{Process: shell("read x; echo late")}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := startEvents(t, s)
	pid := ev.started()
	// Wait past the write timeout by watching the clock, then end it.
	deadline := time.Now().Add(200 * time.Millisecond)
	eventually.True(t, func() bool { return time.Now().After(deadline) })
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}
	if _, err := r.proc.CloseStdin(testCtx(t), connect.NewRequest(&pb.CloseStdinRequest{Process: sel})); err != nil {
		t.Fatal(err)
	}
	if out, _, _, _ := ev.output(); out != "late\n" {
		t.Errorf("output after the write timeout = %q; want it delivered", out)
	}
}
