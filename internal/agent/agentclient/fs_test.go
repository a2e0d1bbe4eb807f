package agentclient_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// async runs fn and returns its error on a channel.
func async(fn func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return done
}

func jsonLine(v any) []byte {
	b, _ := json.Marshal(v)
	return append(b, '\n')
}

func TestFileOpsOnAnAgentFromBeforeThem(t *testing.T) {
	m, g := upgraded(t)
	for _, call := range []func() error{
		func() error { _, err := m.Stat(testCtx(t), "/etc"); return err },
		func() error { _, err := m.ListDir(testCtx(t), "/etc", 1); return err },
		func() error { _, _, err := m.ReadFile(testCtx(t), "/etc/hosts"); return err },
		func() error { _, err := m.WriteFile(testCtx(t), "/tmp/x", strings.NewReader("x")); return err },
		func() error { _, err := m.WatchDir(testCtx(t), "/etc", true); return err },
	} {
		done := async(call)
		req := g.read()
		g.write(agentproto.Response{V: 2, ID: req.ID, Code: agentproto.CodeUnknownOp, Error: "unknown op " + req.Op})
		if err := <-done; !errors.Is(err, agentclient.ErrNoFileOps) || !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "banger image pull") {
			t.Errorf("%s on an old agent = %v; want ErrNoFileOps, failed precondition, saying how to update", req.Op, err)
		}
	}
}

func TestFileOpsRequestsAndAnswers(t *testing.T) {
	m, g := upgraded(t)
	var fi agentproto.FileInfo
	done := async(func() (err error) { fi, err = m.Move(testCtx(t), "~/a", "b"); return err })
	req := g.read()
	if req.Op != agentproto.OpFSMove || req.Path != "~/a" || req.To != "b" {
		t.Fatalf("Move sent %+v", req.Request)
	}
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true, File: &agentproto.FileInfo{Path: "/root/b"}})
	if err := <-done; err != nil || fi.Path != "/root/b" {
		t.Errorf("Move = %+v, %v", fi, err)
	}
	for code, kind := range map[string]errdefs.Kind{
		agentproto.CodeExists:       errdefs.KindAlreadyExists,
		agentproto.CodeNotFound:     errdefs.KindNotFound,
		agentproto.CodeBadRequest:   errdefs.KindInvalidArgument,
		agentproto.CodePrecondition: errdefs.KindFailedPrecondition,
	} {
		done := async(func() error { _, err := m.MakeDir(testCtx(t), "/x"); return err })
		req := g.read()
		g.write(agentproto.Response{V: 2, ID: req.ID, Code: code, Error: "mkdir /x: why"})
		if err := <-done; errdefs.KindOf(err) != kind || !strings.Contains(err.Error(), "mkdir /x: why") {
			t.Errorf("answer %s = %v; want %s with the guest's message", code, err, kind)
		}
	}
}

func TestReadFileEndsWithTheGuestsError(t *testing.T) {
	m, g := upgraded(t)
	type opened struct {
		r   io.ReadCloser
		err error
	}
	got := make(chan opened, 1)
	go func() { r, _, err := m.ReadFile(testCtx(t), "/big"); got <- opened{r, err} }()
	req := g.read()
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true, File: &agentproto.FileInfo{Path: "/big", Size: 10}})
	g.write(agentproto.Frame{Ch: req.ID, Out: []byte("01234")})
	g.write(agentproto.Frame{Ch: req.ID, Err: []byte("read /big: no such device")})
	g.write(agentproto.Frame{Ch: req.ID, Exit: &agentproto.ExitStatus{Code: agentproto.CopyNotFound}})
	o := <-got
	if o.err != nil {
		t.Fatal(o.err)
	}
	b, err := io.ReadAll(o.r)
	if string(b) != "01234" || errdefs.KindOf(err) != errdefs.KindNotFound || !strings.Contains(err.Error(), "no such device") {
		t.Errorf("read %q, %v; want the bytes sent, then not found with the guest's message", b, err)
	}
}

func TestWriteFileSendsTheBytesThenTheirEnd(t *testing.T) {
	m, g := upgraded(t)
	var fi agentproto.FileInfo
	content := bytes.Repeat([]byte("z"), 3*agentproto.MaxChunk+1)
	done := async(func() (err error) { fi, err = m.WriteFile(testCtx(t), "/f", bytes.NewReader(content)); return err })
	req := g.read()
	if req.Op != agentproto.OpFSWrite || req.Path != "/f" {
		t.Fatalf("WriteFile sent %+v", req.Request)
	}
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true})
	var in []byte
	for f := g.read(); !f.EOF; f = g.read() {
		in = append(in, f.In...)
	}
	if !bytes.Equal(in, content) {
		t.Errorf("the guest got %d bytes; want %d", len(in), len(content))
	}
	line := jsonLine(agentproto.FileInfo{Path: "/f", Size: int64(len(content))})
	g.write(agentproto.Frame{Ch: req.ID, Out: line[:5]})
	g.write(agentproto.Frame{Ch: req.ID, Out: line[5:]})
	g.write(agentproto.Frame{Ch: req.ID, Exit: &agentproto.ExitStatus{}})
	if err := <-done; err != nil || fi.Size != int64(len(content)) {
		t.Errorf("WriteFile = %+v, %v", fi, err)
	}
}

func TestWatchDecodesEventsUntilTheGuestEndsIt(t *testing.T) {
	m, g := upgraded(t)
	var w *agentclient.Watch
	done := async(func() (err error) { w, err = m.WatchDir(testCtx(t), "/d", true); return err })
	req := g.read()
	if req.Op != agentproto.OpFSWatch || req.Path != "/d" || !req.Recursive {
		t.Fatalf("WatchDir sent %+v", req.Request)
	}
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := append(jsonLine(agentproto.FSEvent{Name: "a", Op: "create"}), jsonLine(agentproto.FSEvent{Name: "sub/b", Op: "write"})...)
	g.write(agentproto.Frame{Ch: req.ID, Out: lines[:10]})
	g.write(agentproto.Frame{Ch: req.ID, Out: lines[10:]})
	g.write(agentproto.Frame{Ch: req.ID, Err: []byte("the watched directory /d was removed")})
	g.write(agentproto.Frame{Ch: req.ID, Exit: &agentproto.ExitStatus{Code: agentproto.CopyNotFound}})
	var got []agentproto.FSEvent
	for ev := range w.Events() {
		got = append(got, ev)
	}
	if len(got) != 2 || got[0] != (agentproto.FSEvent{Name: "a", Op: "create"}) || got[1] != (agentproto.FSEvent{Name: "sub/b", Op: "write"}) {
		t.Errorf("events = %+v", got)
	}
	if err := w.Err(); errdefs.KindOf(err) != errdefs.KindNotFound || !strings.Contains(err.Error(), "/d was removed") {
		t.Errorf("Err = %v; want not found with the guest's reason", err)
	}
}

func TestWatchCloseEndsTheChannel(t *testing.T) {
	m, g := upgraded(t)
	var w *agentclient.Watch
	done := async(func() (err error) { w, err = m.WatchDir(testCtx(t), "/d", false); return err })
	req := g.read()
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	closed := async(w.Close)
	if f := g.read(); f.Ch != req.ID || !f.End {
		t.Errorf("Close sent %+v; want the channel's end", f.Frame)
	}
	<-closed
	if _, open := <-w.Events(); open || w.Err() != nil {
		t.Errorf("after Close: events open %v, Err %v", open, w.Err())
	}
}

func TestExecReportsThePID(t *testing.T) {
	m, g := upgraded(t)
	var ch *agentclient.Channel
	done := async(func() (err error) {
		ch, err = m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"true"}})
		return err
	})
	req := g.read()
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true, PID: 4242})
	if err := <-done; err != nil || ch.PID() != 4242 {
		t.Fatalf("Exec = pid %d, %v; want 4242", ch.PID(), err)
	}
}

func TestWriteFileAttrsSendsTheModeAndTime(t *testing.T) {
	m, g := upgradedGranting(t, []string{agentproto.FeatureStreams, agentproto.FeatureWriteAttrs})
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	done := async(func() error {
		_, err := m.WriteFileAttrs(testCtx(t), "/s", strings.NewReader("#!/bin/sh"), agentclient.FileAttrs{Mode: 0o755, Modified: mtime})
		return err
	})
	req := g.read()
	if req.Op != agentproto.OpFSWrite || req.Mode == nil || *req.Mode != 0o755 || req.Modified == nil || !req.Modified.Equal(mtime) {
		t.Fatalf("WriteFileAttrs sent %+v; want fs-write with mode 0755 and the time", req.Request)
	}
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true})
	for f := g.read(); !f.EOF; f = g.read() {
	}
	g.write(agentproto.Frame{Ch: req.ID, Out: jsonLine(agentproto.FileInfo{Path: "/s"})})
	g.write(agentproto.Frame{Ch: req.ID, Exit: &agentproto.ExitStatus{}})
	if err := <-done; err != nil {
		t.Errorf("WriteFileAttrs: %v", err)
	}
}

func TestWriteFileAttrsRefusesAnAgentFromBeforeThem(t *testing.T) {
	m, _ := upgraded(t) // grants streams alone
	_, err := m.WriteFileAttrs(testCtx(t), "/s", strings.NewReader("x"), agentclient.FileAttrs{Mode: 0o755})
	if !errors.Is(err, agentclient.ErrNoWriteAttrs) || !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("WriteFileAttrs on an older agent = %v; want ErrNoWriteAttrs, failed precondition", err)
	}
	if m.Has(agentproto.FeatureWriteAttrs) || !m.Has(agentproto.FeatureStreams) {
		t.Error("Has does not match the features granted")
	}
}
