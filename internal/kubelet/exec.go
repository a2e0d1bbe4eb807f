package kubelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	vkerrdefs "github.com/virtual-kubelet/virtual-kubelet/errdefs"
	vkapi "github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"banger/internal/api"
)

var _ nodeutil.Provider = (*Provider)(nil)

// RunInContainer runs cmd in the pod's VM through its guest agent, as
// `kubectl exec` asks: on a terminal when it asks for one.
func (p *Provider) RunInContainer(ctx context.Context, namespace, podName, containerName string, cmd []string, attach vkapi.AttachIO) error {
	pod, err := p.GetPod(ctx, namespace, podName)
	if err != nil {
		return err
	}
	if pod.Status.Phase != corev1.PodRunning {
		return vkerrdefs.InvalidInputf("pod %s/%s is %s, not running", namespace, podName, pod.Status.Phase)
	}
	req := api.ExecRequest{Command: cmd, TTY: attach.TTY()}
	if req.TTY {
		req.Term = "xterm"
	}
	proc, err := p.cfg.Daemon.Exec(ctx, vmName(pod), req)
	if err != nil {
		return fmt.Errorf("running %q in VM %s: %w", cmd, vmName(pod), err)
	}
	defer proc.Close()
	stop := context.AfterFunc(ctx, func() { proc.Close() })
	defer stop()
	go feedStdin(proc, attach.Stdin())
	if attach.TTY() {
		go forwardResize(ctx, proc, attach.Resize())
	}
	return drain(proc, attach.Stdout(), attach.Stderr())
}

// feedStdin copies the client's input to the command, then ends it.
func feedStdin(proc Process, in io.Reader) {
	if in == nil {
		_ = proc.CloseStdin()
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 && proc.Stdin(buf[:n]) != nil {
			return
		}
		if err != nil {
			_ = proc.CloseStdin()
			return
		}
	}
}

// forwardResize passes the client's terminal sizes on.
func forwardResize(ctx context.Context, proc Process, sizes <-chan vkapi.TermSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-sizes:
			if !ok || proc.Resize(s.Height, s.Width) != nil {
				return
			}
		}
	}
}

// drain copies the command's output to the client until it exits. A
// non-zero exit is an error, which the exec stream reports as the
// command's status.
func drain(proc Process, stdout, stderr io.WriteCloser) error {
	for {
		o, err := proc.Next()
		if err != nil {
			return err
		}
		switch {
		case o.Stdout != nil && stdout != nil:
			_, err = stdout.Write(o.Stdout)
		case o.Stderr != nil && stderr != nil:
			_, err = stderr.Write(o.Stderr)
		case o.Exit != nil && o.Exit.Code != 0:
			return exitError{*o.Exit}
		case o.Exit != nil:
			return nil
		}
		if err != nil {
			return fmt.Errorf("writing to the client: %w", err)
		}
	}
}

// exitError is a command's non-zero exit. Its ExitStatus method is what
// Kubernetes' remote command server looks for to report the code.
type exitError struct{ st api.ExitStatus }

func (e exitError) Error() string {
	return fmt.Sprintf("command terminated with exit code %d", e.st.Code)
}

func (e exitError) String() string  { return e.Error() }
func (e exitError) Exited() bool    { return true }
func (e exitError) ExitStatus() int { return e.st.Code }

// AttachToContainer is refused: a pod's command has no attachable
// terminal on a banger node (refuse turns stdin and tty pods away).
func (p *Provider) AttachToContainer(ctx context.Context, namespace, podName, containerName string, attach vkapi.AttachIO) error {
	return vkerrdefs.InvalidInput("attach is not supported on a banger node; use kubectl exec or kubectl logs -f")
}

// GetStatsSummary is not offered yet: `banger vm stats` has the numbers.
func (p *Provider) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	return nil, errNotOffered
}

// GetMetricsResource is not offered yet.
func (p *Provider) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, errNotOffered
}

// PortForward connects a `kubectl port-forward` stream to port on the
// pod's IP, the VM's address, which this host reaches.
func (p *Provider) PortForward(ctx context.Context, namespace, podName string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	pod, err := p.GetPod(ctx, namespace, podName)
	if err != nil {
		return err
	}
	if pod.Status.PodIP == "" {
		return vkerrdefs.InvalidInputf("pod %s/%s has no IP yet", namespace, podName)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("connecting to port %d of pod %s/%s: %w", port, namespace, podName, err)
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(conn, stream); done <- struct{}{} }()
	go func() { _, _ = io.Copy(stream, conn); done <- struct{}{} }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

var errNotOffered = errors.New("not offered by a banger node")
