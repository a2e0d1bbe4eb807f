package envd

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	pb "banger/internal/e2b/envd/pb/process"
	"banger/internal/e2b/envd/pb/process/processconnect"
	"banger/internal/errdefs"
)

// processService serves process.Process.
type processService struct {
	processconnect.UnimplementedProcessHandler
	s *Server
}

var _ processconnect.ProcessHandler = (*processService)(nil)

// firstHostPID is where the host's own process numbers start, clear of
// the guest's early pids.
const firstHostPID = 1000

func (ps *processService) Start(ctx context.Context, req *connect.Request[pb.StartRequest], stream *connect.ServerStream[pb.StartResponse]) error {
	sb, err := sandboxOf(ctx)
	if err != nil {
		return err
	}
	p, s, err := ps.s.start(ctx, sb, req.Msg, req.Header())
	if err != nil {
		return rpcError(err)
	}
	defer p.unsubscribe(s)
	send := func(ev *pb.ProcessEvent) error { return stream.Send(&pb.StartResponse{Event: ev}) }
	return rpcError(follow(ctx, p, s, keepaliveOf(req.Header(), ps.s.keepalive), send))
}

func (ps *processService) Connect(ctx context.Context, req *connect.Request[pb.ConnectRequest], stream *connect.ServerStream[pb.ConnectResponse]) error {
	sb, err := sandboxOf(ctx)
	if err != nil {
		return err
	}
	p, err := ps.s.lookup(ctx, sb.VM, req.Msg.GetProcess())
	if err != nil {
		return rpcError(err)
	}
	s := p.subscribe()
	if s == nil {
		return rpcError(errdefs.NotFound("process %d has ended", p.pid))
	}
	defer p.unsubscribe(s)
	// Subscribed first: what the guest kept while the process was
	// detached goes to this stream.
	if _, err := p.liveFor(ctx, s); err != nil {
		return rpcError(err)
	}
	send := func(ev *pb.ProcessEvent) error { return stream.Send(&pb.ConnectResponse{Event: ev}) }
	return rpcError(follow(ctx, p, s, keepaliveOf(req.Header(), ps.s.keepalive), send))
}

func (ps *processService) List(ctx context.Context, _ *connect.Request[pb.ListRequest]) (*connect.Response[pb.ListResponse], error) {
	sb, err := sandboxOf(ctx)
	if err != nil {
		return nil, err
	}
	procs, err := ps.s.list(ctx, sb.VM)
	if err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&pb.ListResponse{Processes: procs}), nil
}

// find is the process a unary call names.
func (ps *processService) find(ctx context.Context, sel *pb.ProcessSelector) (*proc, error) {
	sb, err := sandboxOf(ctx)
	if err != nil {
		return nil, err
	}
	p, err := ps.s.lookup(ctx, sb.VM, sel)
	return p, rpcError(err)
}

func (ps *processService) SendInput(ctx context.Context, req *connect.Request[pb.SendInputRequest]) (*connect.Response[pb.SendInputResponse], error) {
	p, err := ps.find(ctx, req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	if err := p.input(ctx, req.Msg.GetInput()); err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&pb.SendInputResponse{}), nil
}

func (ps *processService) CloseStdin(ctx context.Context, req *connect.Request[pb.CloseStdinRequest]) (*connect.Response[pb.CloseStdinResponse], error) {
	p, err := ps.find(ctx, req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	if p.pty {
		return nil, rpcError(errdefs.InvalidArgument("process %d runs on a pty, which has no stdin to close: send Ctrl-D (0x04) as pty input", p.pid))
	}
	ch, err := p.live(ctx)
	if err != nil {
		return nil, rpcError(err)
	}
	if err := ch.CloseWrite(); err != nil {
		return nil, rpcError(p.gone(err))
	}
	return connect.NewResponse(&pb.CloseStdinResponse{}), nil
}

func (ps *processService) SendSignal(ctx context.Context, req *connect.Request[pb.SendSignalRequest]) (*connect.Response[pb.SendSignalResponse], error) {
	p, err := ps.find(ctx, req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	if err := p.signal(ctx, req.Msg.GetSignal()); err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&pb.SendSignalResponse{}), nil
}

func (ps *processService) Update(ctx context.Context, req *connect.Request[pb.UpdateRequest]) (*connect.Response[pb.UpdateResponse], error) {
	p, err := ps.find(ctx, req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	size := req.Msg.GetPty().GetSize()
	switch {
	case size == nil:
		return connect.NewResponse(&pb.UpdateResponse{}), nil // nothing to change
	case !p.pty:
		return nil, rpcError(errdefs.InvalidArgument("process %d has no pty to resize", p.pid))
	case size.Rows == 0 || size.Cols == 0 || size.Rows > 0xffff || size.Cols > 0xffff:
		return nil, rpcError(errdefs.InvalidArgument("pty size %dx%d: give 1 to 65535 columns and rows", size.Cols, size.Rows))
	}
	ch, err := p.live(ctx)
	if err != nil {
		return nil, rpcError(err)
	}
	if err := ch.Resize(uint16(size.Rows), uint16(size.Cols)); err != nil {
		return nil, rpcError(p.gone(err))
	}
	return connect.NewResponse(&pb.UpdateResponse{}), nil
}

// StreamInput takes a client stream, which the SDK's HTTP/1.1 transport
// cannot send; the SDK uses SendInput instead.
func (ps *processService) StreamInput(context.Context, *connect.ClientStream[pb.StreamInputRequest]) (*connect.Response[pb.StreamInputResponse], error) {
	return nil, connect.NewError(connect.CodeUnimplemented, errors.New("process.Process.StreamInput is not served: it needs a client stream; use SendInput"))
}
