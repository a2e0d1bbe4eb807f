package mcp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/workspace"
)

// addTools registers every tool.
func (s *Server) addTools() {
	addTool(s, "sandbox_create", createHelp, false, s.create)
	addTool(s, "sandbox_run", runHelp, false, s.run)
	addTool(s, "sandbox_read_file", readHelp, true, s.readFile)
	addTool(s, "sandbox_write_file", writeHelp, false, s.writeFile)
	addTool(s, "sandbox_list_files", listFilesHelp, true, s.listFiles)
	addTool(s, "sandbox_list", listHelp, true, s.list)
	addTool(s, "sandbox_snapshot", snapshotHelp, false, s.snapshot)
	addTool(s, "sandbox_fork", forkHelp, false, s.fork)
	addTool(s, "sandbox_delete", deleteHelp, false, s.delete)
	addTool(s, "sandbox_export_changes", exportHelp, true, s.exportChanges)
}

// toolFunc is a tool's handler, given its session's state.
type toolFunc[In, Out any] func(ctx context.Context, call *toolCall, in In) (Out, error)

// toolCall is one call of a tool: its session and its request.
type toolCall struct {
	st  *session
	req *sdk.CallToolRequest
}

// addTool registers a tool whose input and output schemas come from
// In and Out. A handler's error becomes a tool error (IsError), which
// the agent reads and can act on.
func addTool[In, Out any](s *Server, name, help string, readOnly bool, fn toolFunc[In, Out]) {
	t := &sdk.Tool{Name: name, Description: help, Annotations: &sdk.ToolAnnotations{ReadOnlyHint: readOnly}}
	sdk.AddTool(s.mcp, t, func(ctx context.Context, req *sdk.CallToolRequest, in In) (*sdk.CallToolResult, Out, error) {
		var zero Out
		st := s.sessionOf(req.Session)
		if st == nil {
			return nil, zero, errdefs.Unavailable("banger mcp is shutting down: start a new session")
		}
		out, err := fn(ctx, &toolCall{st: st, req: req}, in)
		if err != nil {
			return nil, zero, errors.New(agentText(err))
		}
		return nil, out, nil
	})
}

// agentText is an error as the agent reads it.
func agentText(err error) string {
	if errors.Is(err, client.ErrNotRunning) {
		return err.Error() + ": bangerd could not be started; ask the user to run `banger doctor`"
	}
	return err.Error()
}

// sandbox is a VM the tools may act on: one an MCP session made.
type sandbox struct {
	vm      api.VM
	workdir string // where commands run and relative paths lead
}

// sandboxOf finds sandbox name, refusing VMs no MCP session made: an
// agent must not run commands in, or delete, the user's own VMs.
func (s *Server) sandboxOf(ctx context.Context, st *session, name string) (sandbox, error) {
	if name == "" {
		return sandbox{}, errdefs.InvalidArgument("no sandbox given: pass the name sandbox_create returned (sandbox_list lists them)")
	}
	var v api.VM
	err := s.call(ctx, func(c *client.Client) (err error) {
		v, err = c.GetVM(ctx, name)
		return err
	})
	if errors.Is(err, errdefs.ErrNotFound) || err == nil && v.Labels[SessionLabel] == "" {
		return sandbox{}, errdefs.NotFound("no sandbox named %q; %s", name, s.knownSandboxes(ctx, st))
	}
	if err != nil {
		return sandbox{}, err
	}
	if v.State != "running" {
		return sandbox{vm: v}, errdefs.FailedPrecondition("sandbox %s is %s, not running: delete it with sandbox_delete and create another", name, v.State)
	}
	return sandbox{vm: v, workdir: workdirOf(v)}, nil
}

// workdirOf is where a VM's commands run by default: its workspace copy,
// else root's home.
func workdirOf(v api.VM) string {
	if ws := v.Workspace; ws != nil && ws.Name != "" && !strings.ContainsAny(ws.Name, "/\x00") && ws.Name != ".." {
		return workspace.GuestHome + "/" + ws.Name
	}
	return workspace.GuestHome
}

// knownSandboxes names the session's sandboxes, for an error message.
func (s *Server) knownSandboxes(ctx context.Context, st *session) string {
	var vms []api.VM
	err := s.call(ctx, func(c *client.Client) (err error) {
		vms, err = c.ListVMs(ctx, SessionLabel+"="+st.id)
		return err
	})
	if err != nil || len(vms) == 0 {
		return "this session has none: make one with sandbox_create"
	}
	names := make([]string, 0, len(vms))
	for _, v := range vms {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	return fmt.Sprintf("this session's sandboxes: %s", strings.Join(names, ", "))
}

// reporter sends the call's progress notifications, when the client
// asked for them. Progress only grows: a report at or below the last
// counts one more. A message repeated within reportEvery is dropped (a
// download reports each chunk).
type reporter struct {
	call    *toolCall
	last    float64
	lastMsg string
	lastAt  time.Time
}

// reportEvery is how often one message may repeat.
const reportEvery = time.Second

func (p *reporter) report(ctx context.Context, msg string, done, total float64) {
	token := p.call.req.Params.GetProgressToken()
	if token == nil || msg == p.lastMsg && time.Since(p.lastAt) < reportEvery {
		return
	}
	if done <= p.last {
		done = p.last + 1
	}
	p.last, p.lastMsg, p.lastAt = done, msg, time.Now()
	p.call.req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{
		ProgressToken: token, Message: msg, Progress: done, Total: total,
	})
}
