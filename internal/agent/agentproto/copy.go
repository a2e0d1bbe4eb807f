package agentproto

import "banger/internal/errdefs"

// The ops of `banger vm cp`, which need FeatureStreams and open a
// channel. Agents from before them answer CodeUnknownOp.
const (
	// copy-in extracts the tar stream the host sends as the channel's
	// input (In, then EOF) at Request.Path, placed as `docker cp` places
	// it (see package tarcopy).
	OpCopyIn = "copy-in"
	// copy-out sends Request.Path as a tar stream in Out frames.
	OpCopyOut = "copy-out"
)

// A copy's channel ends with an exit status: 0 when the copy is done;
// otherwise one of the codes below, after a message on Err.
const (
	CopyFailed   = 1
	CopyNotFound = 2 // a path does not exist
	CopyInvalid  = 3 // the copy cannot be done so (a directory onto a file, a device)
	CopyNoSpace  = 4 // the guest's disk is full
)

// CopyKinds maps the codes above to the error kinds they stand for.
var CopyKinds = map[int]errdefs.Kind{
	CopyNotFound: errdefs.KindNotFound,
	CopyInvalid:  errdefs.KindInvalidArgument,
	CopyNoSpace:  errdefs.KindFailedPrecondition,
}
