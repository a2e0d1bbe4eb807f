package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"banger/internal/api"
	"banger/internal/errdefs"
)

// TestRunInGuestFallsBackOnlyBeforeAStart: vm run's command goes straight
// to the agent (no separate question about the guest first); an agent
// that refuses to run commands hands over to ssh, while any other failure
// is the answer, for the command may have run.
func TestRunInGuestFallsBackOnlyBeforeAStart(t *testing.T) {
	for _, c := range []struct {
		name       string
		execStatus int
		execErr    error
		wantSSH    bool
		wantCode   int
	}{
		{"runs through the agent", 0, nil, false, 7},
		{"an old agent hands over to ssh", http.StatusPreconditionFailed, errdefs.FailedPrecondition("the guest agent cannot run commands"), true, 0},
		{"another failure is the answer", http.StatusInternalServerError, errors.New("the link to the guest broke"), false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			hermetic(t)
			var sshAsked, guestAsked atomic.Bool
			mux := http.NewServeMux()
			mux.HandleFunc("POST "+api.Prefix+"/vms/box/exec", func(w http.ResponseWriter, r *http.Request) {
				if c.execErr != nil {
					standInJSON(w, c.execStatus, api.ErrorResponse{Error: api.ErrorFrom(c.execErr)})
					return
				}
				conn, fw, ok := upgradeStandIn(w)
				if !ok {
					return
				}
				defer conn.Close()
				fw.Write(api.FrameExit, mustJSON(api.ExitStatus{Code: 7}))
			})
			mux.HandleFunc("GET "+api.Prefix+"/vms/box/ssh", func(w http.ResponseWriter, r *http.Request) {
				sshAsked.Store(true)
				standInJSON(w, http.StatusPreconditionFailed, api.ErrorResponse{Error: api.ErrorFrom(errdefs.FailedPrecondition("box has no sshd"))})
			})
			mux.HandleFunc("GET "+api.Prefix+"/vms/box/guest", func(w http.ResponseWriter, r *http.Request) {
				guestAsked.Store(true)
				standInJSON(w, http.StatusOK, api.GuestInfo{Exec: false, SSH: false})
			})
			serveStandIn(t, mux)
			a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
			code, err := guest{a}.run(context.Background(), api.VM{Name: "box", Network: "default"}, false,
				VMRunOptions{Command: []string{"true"}, Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
			if sshAsked.Load() != c.wantSSH {
				t.Errorf("ssh asked for: %v, want %v (err %v)", sshAsked.Load(), c.wantSSH, err)
			}
			if c.execErr == nil && (err != nil || code != c.wantCode || guestAsked.Load()) {
				t.Errorf("guest.run = %d, %v, guest info asked %v; want exit %d straight through the agent", code, err, guestAsked.Load(), c.wantCode)
			}
			if c.execErr != nil && err == nil {
				t.Errorf("guest.run = %d, nil; want an error", code)
			}
		})
	}
}
