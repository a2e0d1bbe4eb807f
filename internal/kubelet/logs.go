package kubelet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"

	vkerrdefs "github.com/virtual-kubelet/virtual-kubelet/errdefs"
	vkapi "github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"

	"banger/internal/atomicfile"
)

// maxKeptLog bounds a finished pod's kept output, and what a log request
// without follow reads into memory to cut its tail.
const maxKeptLog = 16 << 20

// keptLogs is where the output of finished pods is kept, their VMs
// gone: a file per pod, named after its UID, in dir ("" keeps none).
type keptLogs struct {
	dir string
	d   Daemon
	log *slog.Logger
}

func (p *Provider) kept() keptLogs {
	return keptLogs{dir: p.cfg.LogDir, d: p.cfg.Daemon, log: p.cfg.Log}
}

// file is where a finished pod's output is kept, "" when nowhere.
func (k keptLogs) file(pod *corev1.Pod) string {
	uid := string(pod.UID)
	if k.dir == "" || uid == "" || strings.Trim(uid, "0123456789abcdefABCDEF-") != "" {
		return ""
	}
	return filepath.Join(k.dir, uid+".log")
}

// keep copies the session's output out of vm before it is deleted.
func (k keptLogs) keep(ctx context.Context, pod *corev1.Pod, vm string) {
	f := k.file(pod)
	if f == "" {
		return
	}
	var buf bytes.Buffer
	err := k.d.SessionLogs(ctx, vm, sessionName, false, &limitWriter{w: &buf, n: maxKeptLog})
	if err != nil && !errors.Is(err, errLimit) {
		k.log.Debug("no output to keep", "vm", vm, "err", err)
		return
	}
	if err := os.MkdirAll(k.dir, 0o700); err == nil {
		err = atomicfile.WriteFile(f, buf.Bytes(), 0o600)
	}
	if err != nil {
		k.log.Warn("keeping a pod's output", "file", f, "err", err)
	}
}

// drop removes a gone pod's kept output.
func (k keptLogs) drop(pod *corev1.Pod) {
	if f := k.file(pod); f != "" {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			k.log.Warn("removing a pod's kept output", "file", f, "err", err)
		}
	}
}

// GetContainerLogs streams the command's output: from its VM while it
// runs, from the kept copy once it is done.
func (p *Provider) GetContainerLogs(ctx context.Context, namespace, podName, containerName string, opts vkapi.ContainerLogOpts) (io.ReadCloser, error) {
	pod, err := p.GetPod(ctx, namespace, podName)
	if err != nil {
		return nil, err
	}
	if err := refuseLogOpts(opts); err != nil {
		return nil, err
	}
	done := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	if done {
		f, err := os.Open(p.kept().file(pod))
		if err != nil {
			return nil, vkerrdefs.NotFoundf("no output kept for pod %s/%s", namespace, podName)
		}
		return cut(f, opts)
	}
	vm := vmName(pod)
	if !opts.Follow {
		return cut(p.guest().logs(ctx, vm, false, maxKeptLog), opts)
	}
	limit := opts.LimitBytes
	if limit <= 0 {
		limit = math.MaxInt
	}
	return p.guest().logs(ctx, vm, true, limit), nil
}

// logs reads the session's output, at most limit bytes of it.
func (g guest) logs(ctx context.Context, vm string, follow bool, limit int) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		err := g.d.SessionLogs(ctx, vm, sessionName, follow, &limitWriter{w: pw, n: limit})
		if errors.Is(err, errLimit) {
			err = nil
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// refuseLogOpts names a log option this node cannot honour.
func refuseLogOpts(o vkapi.ContainerLogOpts) error {
	switch {
	case o.Previous:
		return vkerrdefs.InvalidInput("previous: a banger node keeps only the current run's output")
	case o.Timestamps:
		return vkerrdefs.InvalidInput("timestamps: a banger node does not time each line of output")
	case o.SinceSeconds > 0 || !o.SinceTime.IsZero():
		return vkerrdefs.InvalidInput("since: a banger node does not time each line of output")
	case o.Follow && o.Tail > 0:
		return vkerrdefs.InvalidInput("tail with follow: a banger node follows the output from its start; drop --tail")
	}
	return nil
}

// cut applies a log request's tail and byte limit to the whole output r.
func cut(r io.ReadCloser, opts vkapi.ContainerLogOpts) (io.ReadCloser, error) {
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxKeptLog))
	if err != nil {
		return nil, fmt.Errorf("reading the command's output: %w", err)
	}
	if opts.Tail > 0 {
		b = tail(b, opts.Tail)
	}
	if opts.LimitBytes > 0 && len(b) > opts.LimitBytes {
		b = b[:opts.LimitBytes]
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// tail is the last n lines of b.
func tail(b []byte, n int) []byte {
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if n--; n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}

// limitWriter takes n bytes, then fails the writes, ending a copy.
type limitWriter struct {
	w io.Writer
	n int
}

var errLimit = errors.New("output limit reached")

func (l *limitWriter) Write(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, errLimit
	}
	if len(b) > l.n {
		n, _ := l.w.Write(b[:l.n])
		l.n = 0
		return n, errLimit
	}
	l.n -= len(b)
	return l.w.Write(b)
}
