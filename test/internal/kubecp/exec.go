package kubecp

import (
	"bytes"
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// ExecClient is the protocol a `kubectl exec` client speaks to the
// apiserver. The apiserver proxies SPDY to the kubelet as it is, and
// translates WebSocket to SPDY.
type ExecClient string

const (
	SPDY      ExecClient = "SPDY"
	WebSocket ExecClient = "WebSocket" // what kubectl tries first
)

// Exec runs cmd in container of the pod ns/name through the apiserver,
// as `kubectl exec` does, and returns what it printed on stdout and on
// stderr. cfg must reach the apiserver without a custom Dial (see
// ForwardedConfig): the exec streams dial for themselves.
//
// Stdout and stderr go to buffers of their own. client-go copies each
// stream in a goroutine of its own with io.Copy, which hands a
// bytes.Buffer the stream through ReadFrom; with one buffer for both,
// stderr's ReadFrom, ending with nothing read, cuts the buffer back to
// the length it had when it began and so drops what stdout wrote
// meanwhile: a quick command's output came back empty, with no error.
func Exec(ctx context.Context, cfg *rest.Config, client ExecClient, ns, name, container string, cmd ...string) (stdout, stderr string, err error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", "", err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	var ex remotecommand.Executor
	switch client {
	case SPDY:
		ex, err = remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	case WebSocket:
		ex, err = remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	default:
		err = fmt.Errorf("no exec client %q: use SPDY or WebSocket", client)
	}
	if err != nil {
		return "", "", err
	}
	var out, errOut bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
	if err != nil {
		err = fmt.Errorf("exec %q in pod %s/%s with %s: %w", cmd, ns, name, client, err)
	}
	return out.String(), errOut.String(), err
}
