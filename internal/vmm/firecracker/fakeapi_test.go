package firecracker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specFile is Firecracker's API spec, as published upstream.
const specFile = "testdata/firecracker-api.yaml"

// apiSpec checks requests and answers against Firecracker's API spec.
type apiSpec struct {
	router routers.Router
}

// loadSpec reads the Swagger 2.0 spec at path, converts it to OpenAPI 3
// for the validator, and makes every object schema refuse fields it does
// not define, as Firecracker itself does (it rejects unknown fields), so
// that a misspelt field fails here as it would there.
func loadSpec(path string) (*apiSpec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc2 openapi2.T
	if err := openapi2.UnmarshalFromData(raw, &doc2); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("converting %s to OpenAPI 3: %w", path, err)
	}
	no := false
	for _, s := range doc.Components.Schemas {
		if s.Value != nil && s.Value.Type.Is("object") && s.Value.AdditionalProperties.Has == nil && s.Value.AdditionalProperties.Schema == nil {
			s.Value.AdditionalProperties.Has = &no
		}
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validating %s: %w", path, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &apiSpec{router: router}, nil
}

// validateOpts leave defaults out of validated bodies, refuse answers
// with statuses the spec does not list, and keep schema dumps out of
// errors.
var validateOpts = &openapi3filter.Options{
	SkipSettingDefaults:     true,
	IncludeResponseStatus:   true,
	SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
}

// checkRequest validates r, whose body is body, against the spec.
func (s *apiSpec) checkRequest(r *http.Request, body []byte) (*openapi3filter.RequestValidationInput, error) {
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: validateOpts}
	return in, openapi3filter.ValidateRequest(r.Context(), in)
}

// checkResponse validates an answer to the request in.
func checkResponse(in *openapi3filter.RequestValidationInput, status int, body []byte) error {
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 http.Header{"Content-Type": {"application/json"}},
		Options:                validateOpts,
	}
	out.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(in.Request.Context(), out)
}

// call is one request the fake received.
type call struct {
	Call    string          `json:"call"` // "PUT /boot-source"
	Body    json.RawMessage `json:"body,omitempty"`
	Invalid string          `json:"invalid,omitempty"` // why it broke the spec
}

// fakeAPI is Firecracker's API as far as banger uses it. It validates
// every request against the spec and answers 400 with a fault_message to
// any that breaks it, as Firecracker does; it refuses pre-boot calls after
// InstanceStart; and it validates its own answers too.
type fakeAPI struct {
	spec *apiSpec
	// faults maps a call ("PUT /boot-source") to the fault_message of a
	// 400 answer to it.
	faults map[string]string
	// act, when set, runs for each valid call before it is answered; an
	// error is answered 400 with it as the fault_message.
	act func(call) error
	// onCall, when set, sees every call after it was answered.
	onCall func(call)

	mu    sync.Mutex
	calls []call
	state InstanceState
}

func newFakeAPI(spec *apiSpec) *fakeAPI {
	return &fakeAPI{spec: spec, faults: map[string]string{}, state: InstanceNotStarted}
}

// serve answers on a unix socket at path until the listener is closed.
func (f *fakeAPI) serve(path string) (*http.Server, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: f}
	go srv.Serve(ln)
	return srv, nil
}

func (f *fakeAPI) received() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := call{Call: r.Method + " " + r.URL.Path}
	if len(body) > 0 {
		c.Body = json.RawMessage(body)
	}
	in, err := f.spec.checkRequest(r, body)
	var status int
	var answer any
	if err != nil {
		c.Invalid = err.Error()
		status, answer = 400, fault("request does not match the API spec: "+err.Error())
	} else {
		status, answer = f.answer(c)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	var out []byte
	if answer != nil {
		out, _ = json.Marshal(answer)
	}
	if in != nil {
		if err := checkResponse(in, status, out); err != nil {
			status, out = 500, []byte(fmt.Sprintf(`{"fault_message": %q}`, "the fake's own answer breaks the API spec: "+err.Error()))
		}
	}
	if out != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	w.Write(out)
	if f.onCall != nil {
		f.onCall(c)
	}
}

func fault(msg string) any { return map[string]string{"fault_message": msg} }

// answer acts on a valid call and returns its status and body.
func (f *fakeAPI) answer(c call) (int, any) {
	if msg, ok := f.faults[c.Call]; ok {
		return 400, fault(msg)
	}
	if f.act != nil {
		if err := f.act(c); err != nil {
			return 400, fault(err.Error())
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch c.Call {
	case "GET /":
		return 200, InstanceInfo{AppName: "Firecracker", ID: "fake", State: f.state, VMMVersion: "1.17.0-fake"}
	case "PATCH /vm":
		var v struct{ State VMState }
		json.Unmarshal(c.Body, &v)
		if f.state == InstanceNotStarted {
			return 400, fault("the microVM is not running")
		}
		f.state = map[VMState]InstanceState{VMPaused: InstancePaused, VMResumed: InstanceRunning}[v.State]
		return 204, nil
	case "PUT /actions":
		var a struct {
			ActionType ActionType `json:"action_type"`
		}
		json.Unmarshal(c.Body, &a)
		if a.ActionType == ActionInstanceStart {
			if f.state != InstanceNotStarted {
				return 400, fault("The requested operation is not supported after starting the microVM.")
			}
			f.state = InstanceRunning
		}
		return 204, nil
	case "PUT /snapshot/create":
		// Like Firecracker, write the files (the VM must be paused).
		if f.state != InstancePaused {
			return 400, fault("Cannot create a snapshot of a running microVM; pause it first.")
		}
		var sc SnapshotCreate
		json.Unmarshal(c.Body, &sc)
		os.WriteFile(sc.MemFilePath, []byte("memory"), 0o600)
		os.WriteFile(sc.SnapshotPath, []byte("state"), 0o600)
		return 204, nil
	case "PUT /snapshot/load":
		if f.state != InstanceNotStarted {
			return 400, fault("Loading a microVM snapshot not allowed after configuring boot-specific resources.")
		}
		var sl SnapshotLoad
		json.Unmarshal(c.Body, &sl)
		if _, err := os.Stat(sl.SnapshotPath); err != nil {
			return 400, fault("Cannot open the snapshot file: " + err.Error())
		}
		f.state = InstancePaused
		if sl.ResumeVM {
			f.state = InstanceRunning
		}
		return 204, nil
	}
	if strings.HasPrefix(c.Call, "PATCH /drives/") {
		if f.state == InstanceNotStarted {
			return 400, fault("The requested operation is not supported before starting the microVM.")
		}
		return 204, nil
	}
	if f.state != InstanceNotStarted { // every other call banger makes is pre-boot only
		return 400, fault("The requested operation is not supported after starting the microVM.")
	}
	return 204, nil
}
