package e2b

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"banger/internal/errdefs"
)

// errorStatus is the HTTP status an error of the VM manager answers with.
func errorStatus(err error) int {
	switch errdefs.KindOf(err) {
	case errdefs.KindNotFound:
		return http.StatusNotFound
	case errdefs.KindInvalidArgument:
		return http.StatusBadRequest
	case errdefs.KindAlreadyExists, errdefs.KindFailedPrecondition:
		return http.StatusConflict
	case errdefs.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers an error as the E2B API does: {"code": STATUS, "message"}.
func fail(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, apiError{Code: status, Message: fmt.Sprintf(format, args...)})
}

// failErr answers err with the status of its kind.
func failErr(w http.ResponseWriter, err error) {
	fail(w, errorStatus(err), "%s", err.Error())
}

// notFound is the error of a sandbox that does not exist (or is not an
// E2B sandbox: banger's other VMs are not the E2B API's to touch).
func notFound(id string) error {
	return errdefs.NotFound("sandbox %s not found: `Sandbox.list()` (or `banger vm list`) shows the sandboxes there are", id)
}

// connectCodes are Connect's names of the statuses the sandbox side
// answers with before a request reaches envd.
var connectCodes = map[int]string{
	http.StatusBadRequest:          "invalid_argument",
	http.StatusUnauthorized:        "unauthenticated",
	http.StatusForbidden:           "permission_denied",
	http.StatusNotFound:            "not_found",
	http.StatusBadGateway:          "unavailable",
	http.StatusServiceUnavailable:  "unavailable",
	http.StatusInternalServerError: "internal",
}

// failSandbox answers a request for the sandbox side that cannot reach
// it: in Connect's error form for a Connect call (its path names a
// service, like /process.Process/Start), so the SDK shows the message,
// and in the E2B API's form otherwise.
func failSandbox(w http.ResponseWriter, r *http.Request, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	svc, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if ok && strings.Contains(svc, ".") {
		writeJSON(w, status, map[string]string{"code": connectCodes[status], "message": msg})
		return
	}
	fail(w, status, "%s", msg)
}

// decodeBody reads a JSON body into v; an empty body leaves v as it is
// when optional. Unknown fields are ignored, as newer SDKs send more.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	err := json.NewDecoder(r.Body).Decode(v)
	if err == nil || (optional && errors.Is(err, io.EOF)) {
		return true
	}
	fail(w, http.StatusBadRequest, "malformed request body: %v", err)
	return false
}

// maxBody bounds a request body of the control plane.
const maxBody = 1 << 20
