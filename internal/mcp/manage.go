package mcp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/vmname"
)

const listHelp = `List sandboxes: by default those this MCP session made; with all=true,
every sandbox any banger MCP session made, kept ones of earlier sessions
included (the tools act on those too). The user's own VMs are never listed.`

const deleteHelp = `Delete a sandbox now, running or not, with its disk and everything in it.
It cannot be undone: export changes you want first (sandbox_export_changes).`

const snapshotHelp = `Save a running sandbox whole (memory, disks) as a named snapshot, which
outlives this session; the sandbox keeps running. sandbox_create with
from_snapshot makes new sandboxes that start from it in a second or two.
Snapshots are removed with ` + "`banger snapshot delete NAME`" + ` on the host.`

const forkHelp = `Make a copy of a running sandbox as it is now: a new sandbox with the same
files, processes and memory, which then goes its own way; the original keeps
running. Returns the new sandbox. Like any sandbox of this session, it is
deleted when the session ends unless keep is true.`

// listIn are sandbox_list's arguments.
type listIn struct {
	All bool `json:"all,omitempty" jsonschema:"list the sandboxes of every banger MCP session, not just this one's"`
}

// listOut is the sandboxes.
type listOut struct {
	Sandboxes []sandboxOut `json:"sandboxes"`
}

func (s *Server) list(ctx context.Context, call *toolCall, in listIn) (listOut, error) {
	term := SessionLabel + "=" + call.st.id
	if in.All {
		term = SessionLabel
	}
	var vms []api.VM
	err := s.call(ctx, func(c *client.Client) (err error) {
		vms, err = c.ListVMs(ctx, term)
		return err
	})
	if err != nil {
		return listOut{}, err
	}
	out := listOut{Sandboxes: []sandboxOut{}}
	for _, v := range vms {
		out.Sandboxes = append(out.Sandboxes, toSandbox(v, call.st.kept(v)))
	}
	return out, nil
}

// nameIn names one sandbox.
type nameIn struct {
	Sandbox string `json:"sandbox" jsonschema:"the sandbox's name"`
}

// deleteOut says what was deleted.
type deleteOut struct {
	Deleted string `json:"deleted"`
}

func (s *Server) delete(ctx context.Context, call *toolCall, in nameIn) (deleteOut, error) {
	sb, err := s.sandboxOf(ctx, call.st, in.Sandbox)
	if err != nil && sb.vm.Name == "" {
		return deleteOut{}, err
	}
	err = s.call(ctx, func(c *client.Client) error { return c.DeleteVM(ctx, sb.vm.Name, true) })
	if err != nil {
		return deleteOut{}, fmt.Errorf("deleting sandbox %s: %w", sb.vm.Name, err)
	}
	call.st.forget(sb.vm.Name)
	return deleteOut{Deleted: sb.vm.Name}, nil
}

// snapshotIn are sandbox_snapshot's arguments.
type snapshotIn struct {
	Sandbox string `json:"sandbox" jsonschema:"the sandbox's name"`
	Name    string `json:"name,omitempty" jsonschema:"the snapshot's name; default: the sandbox's name and a suffix"`
}

// snapshotOut describes a snapshot.
type snapshotOut struct {
	Snapshot string `json:"snapshot" jsonschema:"give it to sandbox_create as from_snapshot"`
	Bytes    int64  `json:"bytes" jsonschema:"its size on disk"`
}

func (s *Server) snapshot(ctx context.Context, call *toolCall, in snapshotIn) (snapshotOut, error) {
	if in.Name != "" {
		if err := vmname.ValidateResource("snapshot", in.Name); err != nil {
			return snapshotOut{}, err
		}
	}
	sb, err := s.sandboxOf(ctx, call.st, in.Sandbox)
	if err != nil {
		return snapshotOut{}, err
	}
	name := in.Name
	if name == "" {
		name = sb.vm.Name + "-" + randomHex(3)
	}
	sn, err := s.takeSnapshot(ctx, call, sb.vm.Name, name)
	if err != nil {
		return snapshotOut{}, err
	}
	return snapshotOut{Snapshot: sn.Name, Bytes: sn.Bytes}, nil
}

// takeSnapshot saves VM vm as snapshot name, reporting progress.
func (s *Server) takeSnapshot(ctx context.Context, call *toolCall, vm, name string) (api.Snapshot, error) {
	p := &reporter{call: call}
	var sn api.Snapshot
	err := s.call(ctx, func(c *client.Client) (err error) {
		sn, err = c.Snapshots().Take(ctx, vm, api.SnapshotVMRequest{Name: name}, func(e progress.Event) {
			p.report(ctx, "snapshot: "+e.Step, 0, 0)
		})
		return err
	})
	if err != nil {
		return sn, fmt.Errorf("saving sandbox %s as snapshot %s: %w", vm, name, err)
	}
	return sn, nil
}

// forkIn are sandbox_fork's arguments.
type forkIn struct {
	Sandbox string `json:"sandbox" jsonschema:"the sandbox to copy"`
	Name    string `json:"name,omitempty" jsonschema:"the new sandbox's name; default: a generated name"`
	Keep    bool   `json:"keep,omitempty" jsonschema:"keep the new sandbox after this MCP session ends"`
}

// fork saves the sandbox as a snapshot, makes a sandbox from it with the
// source's labels and network, and deletes the snapshot.
func (s *Server) fork(ctx context.Context, call *toolCall, in forkIn) (sandboxOut, error) {
	if in.Name != "" {
		if err := vmname.Validate(in.Name); err != nil {
			return sandboxOut{}, err
		}
	}
	sb, err := s.sandboxOf(ctx, call.st, in.Sandbox)
	if err != nil {
		return sandboxOut{}, err
	}
	snap := "mcp-fork-" + randomHex(6)
	if _, err := s.takeSnapshot(ctx, call, sb.vm.Name, snap); err != nil {
		return sandboxOut{}, err
	}
	defer s.dropSnapshot(snap)
	labels := maps.Clone(sb.vm.Labels)
	labels[SessionLabel] = call.st.id
	req := api.CreateVMRequest{Name: in.Name, FromSnapshot: snap, Network: sb.vm.Network, Labels: labels}
	v, err := s.boot(ctx, call, req, in.Keep)
	if err != nil {
		return sandboxOut{}, err
	}
	return toSandbox(v, in.Keep), nil
}

// dropSnapshot deletes a fork's snapshot, even when its call was
// cancelled.
func (s *Server) dropSnapshot(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	err := s.call(ctx, func(c *client.Client) error { return c.Snapshots().Delete(ctx, name) })
	if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		s.log.Warn("mcp: removing a fork's snapshot", "snapshot", name, "err", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
