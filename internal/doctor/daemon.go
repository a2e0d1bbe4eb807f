package doctor

import (
	"context"
	"errors"
	"fmt"

	"banger/internal/errdefs"
)

// checkDaemon probes bangerd without starting it.
func checkDaemon(ctx context.Context, opts Options) Result {
	const name = "daemon"
	var st DaemonStatus
	if opts.Daemon != nil {
		var err error
		if st, err = opts.Daemon(ctx); errors.Is(err, errdefs.ErrFailedPrecondition) {
			// e.g. a runtime dir that is a file: the error says what to do.
			return fail(name, err.Error(), "do as it says, then rerun banger doctor")
		} else if err != nil {
			return fail(name, "cannot query bangerd: "+err.Error(),
				"see `banger daemon logs`; `banger daemon stop` lets the next command start a fresh one")
		}
	}
	if st.Running && st.WebError != "" {
		return warn(name, fmt.Sprintf("bangerd %s running (pid %d), but its web UI is off: %s", st.Version, st.PID, st.WebError),
			"fix web_listen_addr in the config, then `banger daemon stop`; the next command starts bangerd with the web UI")
	}
	if st.Running {
		return pass(name, fmt.Sprintf("bangerd %s running (pid %d)", st.Version, st.PID))
	}
	if opts.DaemonBin != nil {
		if bin, err := opts.DaemonBin(); err == nil {
			return pass(name, "not running; starts on first use from "+bin)
		}
	}
	return fail(name, "not running, and no bangerd binary found next to banger or on PATH",
		"install bangerd next to banger, e.g. with make install")
}
