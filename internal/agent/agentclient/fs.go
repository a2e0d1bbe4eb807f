package agentclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// ErrNoFileOps is the error of the file methods (Stat, ListDir, ...) on an
// agent from before them; it is of kind failed precondition.
var ErrNoFileOps = errors.New("the VM's guest agent predates file operations: rebuild the VM's image (banger image pull) and make the VM again; meanwhile `banger vm cp` copies files in and out")

// Guest paths are absolute, or relative to /root; "~" and "~/x" mean /root
// and /root/x. Failures come back as errdefs kinds: not found, already
// exists, invalid argument (a file where a directory must be, or the
// other way round, or a bad path) and failed precondition (no space, no
// permission, or ErrNoFileOps).

// Stat describes the guest path, not following a final symbolic link.
func (m *Mux) Stat(ctx context.Context, path string) (agentproto.FileInfo, error) {
	resp, err := fsCall(ctx, m, agentproto.Request{Op: agentproto.OpFSStat, Path: path})
	return fileOf(resp, err)
}

// ListDir lists the directory path's entries, and those of its
// subdirectories down to depth levels (1: the directory's own), depth
// first and sorted by name within each directory.
func (m *Mux) ListDir(ctx context.Context, path string, depth int) ([]agentproto.FileInfo, error) {
	if depth < 1 {
		return nil, errdefs.InvalidArgument("listing %s: depth %d is less than 1", path, depth)
	}
	ch, _, err := openFS(ctx, m, agentproto.Request{Op: agentproto.OpFSList, Path: path, Depth: depth})
	if err != nil {
		return nil, err
	}
	defer ch.Close()
	br := bufio.NewReader(&channelReader{ctx: ctx, ch: ch, what: "listing " + path})
	files := []agentproto.FileInfo{}
	for {
		line, err := agentproto.ReadLine(br)
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		var fi agentproto.FileInfo
		if err := json.Unmarshal(line, &fi); err != nil {
			return nil, fmt.Errorf("listing %s: the guest agent sent %.80q: %w", path, line, err)
		}
		if len(files) == agentproto.MaxListEntries {
			return nil, errdefs.InvalidArgument("listing %s: more than %d entries; list fewer levels", path, agentproto.MaxListEntries)
		}
		files = append(files, fi)
	}
}

// MakeDir makes the directory path and its missing parents, as mkdir -p
// does; created says whether path is new.
func (m *Mux) MakeDir(ctx context.Context, path string) (created bool, err error) {
	resp, err := fsCall(ctx, m, agentproto.Request{Op: agentproto.OpFSMkdir, Path: path})
	return resp.Created, err
}

// Move renames from to to, as rename(2) does (a file replaces a file, a
// directory only an empty one); across file systems the guest copies,
// then removes from. It describes what is now at to.
func (m *Mux) Move(ctx context.Context, from, to string) (agentproto.FileInfo, error) {
	resp, err := fsCall(ctx, m, agentproto.Request{Op: agentproto.OpFSMove, Path: from, To: to})
	return fileOf(resp, err)
}

// Remove removes path and everything below it, as rm -rf does: a missing
// path is no error.
func (m *Mux) Remove(ctx context.Context, path string) error {
	_, err := fsCall(ctx, m, agentproto.Request{Op: agentproto.OpFSRemove, Path: path})
	return err
}

// fsCall sends a file op that opens no channel.
func fsCall(ctx context.Context, m *Mux, req agentproto.Request) (agentproto.Response, error) {
	resp, err := m.Call(ctx, req)
	return resp, fsError(resp, err)
}

// openFS sends a file op that opens a channel.
func openFS(ctx context.Context, m *Mux, req agentproto.Request) (*Channel, agentproto.Response, error) {
	ch, resp, err := m.Open(ctx, req)
	return ch, resp, fsError(resp, err)
}

// fsError says an agent that does not know a file op is too old.
func fsError(resp agentproto.Response, err error) error {
	if err != nil && resp.Code == agentproto.CodeUnknownOp {
		return errdefs.Wrap(errdefs.KindFailedPrecondition, ErrNoFileOps)
	}
	return err
}

func fileOf(resp agentproto.Response, err error) (agentproto.FileInfo, error) {
	if err != nil {
		return agentproto.FileInfo{}, err
	}
	if resp.File == nil {
		return agentproto.FileInfo{}, errors.New("agent: answer without a file")
	}
	return *resp.File, nil
}
