package envd

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"connectrpc.com/connect"

	"banger/internal/errdefs"
)

// codes maps banger's error kinds to Connect codes; the E2B SDK turns
// these into its own error classes (NotFound into a not-found error,
// Unavailable into "the sandbox is probably not running").
var codes = map[errdefs.Kind]connect.Code{
	errdefs.KindNotFound:           connect.CodeNotFound,
	errdefs.KindAlreadyExists:      connect.CodeAlreadyExists,
	errdefs.KindInvalidArgument:    connect.CodeInvalidArgument,
	errdefs.KindFailedPrecondition: connect.CodeFailedPrecondition,
	errdefs.KindUnavailable:        connect.CodeUnavailable,
	errdefs.KindInternal:           connect.CodeInternal,
}

// rpcError is err as a Connect error: one already made passes through,
// a context's end keeps its meaning, any other takes its kind's code.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewError(codes[errdefs.KindOf(err)], err)
}

// statuses maps banger's error kinds to the HTTP statuses of /files.
var statuses = map[errdefs.Kind]int{
	errdefs.KindNotFound:           http.StatusNotFound,
	errdefs.KindAlreadyExists:      http.StatusConflict,
	errdefs.KindInvalidArgument:    http.StatusBadRequest,
	errdefs.KindFailedPrecondition: http.StatusBadRequest,
	errdefs.KindUnavailable:        http.StatusBadGateway,
	errdefs.KindInternal:           http.StatusInternalServerError,
}

// restError is the body of a failed REST answer, as the SDK reads it.
type restError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeError answers a REST request with err's status and message.
func writeError(w http.ResponseWriter, err error) {
	status := statuses[errdefs.KindOf(err)]
	if errors.Is(err, errUnauthorized) {
		status = http.StatusUnauthorized
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(restError{Code: status, Message: err.Error()})
}

// errUnauthorized marks a /files request whose signature or token does
// not match.
var errUnauthorized = errors.New("unauthorized")
