package agent

import (
	"errors"
	"io"
	"path/filepath"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
	"banger/internal/tarcopy"
)

// errCopyOver ends the input of a copy-in whose extraction is over.
var errCopyOver = errors.New("the copy is over")

// errAbandoned is what an extraction reads when the host abandons it.
var errAbandoned = errors.New("the host abandoned the copy")

// copyIn extracts the tar stream the host sends at req.Path.
func (sc *streamConn) copyIn(req agentproto.Request) {
	if !filepath.IsAbs(req.Path) {
		sc.send(failure(req, agentproto.CodeBadRequest, "copy-in needs an absolute guest path"))
		return
	}
	err := tarcopy.CheckDest(req.Path)
	var lim tarcopy.Limits
	if err == nil {
		lim, err = tarcopy.LimitsFor(req.Path)
	}
	if err != nil {
		sc.send(failure(req, answerCode(err), err.Error()))
		return
	}
	ch := sc.open(req.ID)
	if sc.send(success(req, agentproto.Response{})) != nil {
		ch.finish(agentproto.Frame{})
		return
	}
	pr, pw := io.Pipe()
	go func() {
		ch.pumpInput(pw, func() { pw.Close() })
		pw.CloseWithError(errAbandoned) // no-op after a clean end of input
	}()
	_, err = tarcopy.Extract(pr, req.Path, tarcopy.Options{Limits: lim, KeepSpecialBits: true, Where: "in the guest"})
	if err == nil {
		_, err = io.Copy(io.Discard, pr) // the stream's padding, up to its end
	}
	pr.CloseWithError(errCopyOver)
	endCopy(ch, err)
}

// copyOut sends req.Path as a tar stream.
func (sc *streamConn) copyOut(req agentproto.Request) {
	if !filepath.IsAbs(req.Path) {
		sc.send(failure(req, agentproto.CodeBadRequest, "copy-out needs an absolute guest path"))
		return
	}
	src := tarcopy.Source{Path: req.Path}
	if _, err := src.Check(); err != nil {
		sc.send(failure(req, answerCode(err), err.Error()))
		return
	}
	ch := sc.open(req.ID)
	if sc.send(success(req, agentproto.Response{})) != nil {
		ch.finish(agentproto.Frame{})
		return
	}
	endCopy(ch, tarcopy.Write(channelWriter{ch}, src))
}

// endCopy ends a copy's channel with its status, after the error's
// message when it failed.
func endCopy(ch *channel, err error) {
	if err == nil {
		ch.finish(agentproto.Frame{Exit: &agentproto.ExitStatus{}})
		return
	}
	ch.sc.s.log.Info("copy failed", "err", err)
	ch.write([]byte(err.Error()), true)
	ch.finish(agentproto.Frame{Exit: &agentproto.ExitStatus{Code: copyCode(err)}})
}

func copyCode(err error) int {
	switch {
	case errors.Is(err, tarcopy.ErrNoSpace):
		return agentproto.CopyNoSpace
	case errdefs.KindOf(err) == errdefs.KindNotFound:
		return agentproto.CopyNotFound
	case errdefs.KindOf(err) == errdefs.KindInvalidArgument:
		return agentproto.CopyInvalid
	}
	return agentproto.CopyFailed
}

func answerCode(err error) string {
	switch errdefs.KindOf(err) {
	case errdefs.KindNotFound:
		return agentproto.CodeNotFound
	case errdefs.KindInvalidArgument:
		return agentproto.CodeBadRequest
	}
	return agentproto.CodeFailed
}

// channelWriter writes a channel's output.
type channelWriter struct{ ch *channel }

func (w channelWriter) Write(p []byte) (int, error) {
	if err := w.ch.write(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}
