package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/errdefs"
)

func TestDecodeTakesOneJSONValue(t *testing.T) {
	type body struct {
		Name string `json:"name"`
	}
	tests := []struct {
		in   string
		want string // "" when accepted; else a part of the error
	}{
		{`{"name":"box"}`, ""},
		{"{\"name\":\"box\"}\n \t", ""},
		{`{"name":"box"}{"name":"other"}`, "data after the JSON value"},
		{`{"name":"box"} {"name":"other"}`, "data after the JSON value"},
		{`{"name":"box"}]`, "data after the JSON value"},
		{`{"name":"box"} x`, "data after the JSON value"},
		{`{"name":"box"} 1`, "data after the JSON value"},
		{`{"name":"box","extra":1}`, "unknown field"},
		{``, "bad request body"},
		{`{"name":"` + strings.Repeat("a", maxBody) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.in))
		var b body
		err := decode(r, &b)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("decode(%.40q) = %v, want it accepted", tt.in, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("decode(%.40q) = %v, want an error with %q", tt.in, err, tt.want)
		case tt.want != "" && !errors.Is(err, errdefs.ErrInvalidArgument):
			t.Errorf("decode(%.40q) = %v, not an invalid argument", tt.in, err)
		}
	}
}

// TestTrailingJSONRefusedByTheAPI: a request with a second JSON value is
// refused before anything is made.
func TestTrailingJSONRefusedByTheAPI(t *testing.T) {
	a := newTestAPI(t)
	c := a.client
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", a.client.Socket)
	}}}
	body := `{"name":"box","image":"x","vcpu":1,"memory_mib":256,"disk_bytes":1073741824}{"name":"other"}`
	resp, err := hc.Post("http://bangerd"+api.Prefix+"/vms", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /vms with trailing JSON: status %d, want 400", resp.StatusCode)
	}
	if vms, err := c.ListVMs(context.Background()); err != nil || len(vms) != 0 {
		t.Errorf("after the refused create: VMs %v, %v; want none", vms, err)
	}
}

// FuzzDecode: whatever the body, decode does not panic, and what it
// accepts is exactly one valid JSON value.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{"name":"box","vcpu":2}`, `{"name":"a"}{}`, `{} `, `[]`, `{"workspace":{"path":"/x"}}`, "\x00"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
		var req api.CreateVMRequest
		if err := decode(r, &req); err == nil && !json.Valid(data) {
			t.Errorf("decode accepted %q, which is not one JSON value", data)
		}
	})
}
