package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vm"
	"banger/internal/vmm/consolelog"
)

// getVMLogs sends the VM's console log, the rotated part first; with
// follow=true it keeps sending what the guest writes, across rotations,
// until the VM stops or the client hangs up.
func (s *Server) getVMLogs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	cl, err := s.vms.ConsoleLog(r.Context(), name)
	if err != nil {
		writeError(w, err)
		return
	}
	v, path, limit := cl.VM, cl.Path, cl.Limit
	fl, err := consolelog.Follow(path, limit)
	if errors.Is(err, os.ErrNotExist) {
		writeError(w, errdefs.NotFound("VM %s has no console log yet: it has not booted", name))
		return
	} else if err != nil {
		writeError(w, err)
		return
	}
	defer fl.Close()
	follow, _ := strconv.ParseBool(r.URL.Query().Get("follow"))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if fl.Skipped() > 0 {
		fmt.Fprintf(w, "[banger: the log's first %d bytes are not shown]\n", fl.Skipped())
	} else if err := copyRotated(w, path, 2*limit); err != nil {
		return
	}
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, _, err := fl.Read(buf)
		if err != nil {
			return
		}
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return
			}
			continue
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !follow {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		if cur, err := s.vms.Get(r.Context(), name); err != nil || cur.VID != v.VID || cur.State == vm.StateStopped || cur.State == vm.StateSuspended {
			follow = false // send what is left, then end
		}
	}
}

// copyRotated sends the rotated part of the log at path, at most max bytes.
func copyRotated(w io.Writer, path string, max int64) error {
	f, err := os.Open(consolelog.Rotated(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, io.LimitReader(f, max))
	return err
}
