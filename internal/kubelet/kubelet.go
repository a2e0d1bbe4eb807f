// Package kubelet makes this host a Kubernetes node whose pods are banger
// VMs: a virtual-kubelet provider backed by bangerd through its API
// client. A pod is one VM; its one container's command is a session of
// the VM's guest agent; what a pod asks for and a VM cannot give fails the
// pod at once, naming the field. See docs/kubernetes.md and
// docs/adr/0015-kubelet.md.
package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	vkslog "github.com/virtual-kubelet/virtual-kubelet/log/slog"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
)

// Options configure a node.
type Options struct {
	Kube   kubernetes.Interface
	Daemon Daemon
	Spec   NodeSpec
	Sizes  Sizes
	Doctor Doctor
	// DoctorEvery is how often doctor runs to refresh the node's
	// conditions.
	DoctorEvery time.Duration
	// Listen is the kubelet API's address (logs, exec); TLS nil serves
	// none.
	Listen string
	TLS    *TLSOptions
	LogDir string
	Log    *slog.Logger
}

// Serve registers the node, adopts the VMs a previous run left, and runs
// the node's pods until ctx ends. The VMs outlive it.
func Serve(ctx context.Context, o Options) error {
	// virtual-kubelet's controllers log through the context: to o.Log,
	// so that a cluster out of reach says so.
	ctx = vklog.WithLogger(ctx, vkslog.FromSlog(o.Log))
	// client-go logs through klog, by default straight to stderr: send
	// it the same way, so that one log holds the node's story.
	klog.SetSlogLogger(o.Log)
	eb := record.NewBroadcaster(record.WithContext(ctx))
	eb.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: o.Kube.CoreV1().Events(corev1.NamespaceAll)})
	defer eb.Shutdown()
	rec := eb.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "banger-kubelet", Host: o.Spec.Name})

	var prov *Provider
	newProvider := func(pc nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
		prov = NewProvider(ProviderConfig{
			Daemon: o.Daemon, Node: o.Spec.Name, HostIP: o.Spec.IP, Sizes: o.Sizes,
			Volumes: clusterVolumes{pc.ConfigMaps, pc.Secrets, o.Kube}, Events: rec, Log: o.Log, LogDir: o.LogDir,
			Remove: removePod(o.Kube),
		})
		return prov, &nodeStatus{doctor: o.Doctor, interval: o.DoctorEvery, node: pc.Node.DeepCopy()}, nil
	}
	n, err := nodeutil.NewNode(o.Spec.Name, newProvider, o.nodeOpts(rec)...)
	if err != nil {
		return fmt.Errorf("setting up node %s: %w", o.Spec.Name, err)
	}
	defer prov.Close()
	get := func(ctx context.Context, ns, name string) (*corev1.Pod, error) {
		return o.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if err := prov.Adopt(ctx, get); err != nil {
		o.Log.Warn("adopting this node's VMs", "err", err)
	}
	o.Log.Info("node registering", "node", o.Spec.Name, "ip", o.Spec.IP, "driver", o.Spec.Driver, "accelerator", o.Spec.Accel)
	err = n.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// nodeOpts configure virtual-kubelet's node from o.
func (o Options) nodeOpts(rec record.EventRecorder) []nodeutil.NodeOpt {
	opts := []nodeutil.NodeOpt{
		nodeutil.WithClient(o.Kube),
		func(c *nodeutil.NodeConfig) error {
			c.NodeSpec = o.Spec.node()
			c.EventRecorder = rec
			c.HTTPListenAddr = o.Listen
			c.NumWorkers = 4
			c.InformerResyncPeriod = time.Minute
			return nil
		},
	}
	if o.TLS != nil {
		mux := http.NewServeMux()
		opts = append(opts, nodeutil.AttachProviderRoutes(mux), func(c *nodeutil.NodeConfig) error {
			cfg, err := o.TLS.config(o.Spec)
			if err != nil {
				return err
			}
			c.TLSConfig = cfg
			c.Handler = o.TLS.authorize(mux)
			return nil
		})
	}
	return opts
}

// removePod deletes a pod whose VM is gone from the cluster at once, and
// only that pod: a pod made again under the same name has another UID.
func removePod(kube kubernetes.Interface) func(context.Context, *corev1.Pod) error {
	return func(ctx context.Context, pod *corev1.Pod) error {
		opts := metav1.NewDeleteOptions(0)
		opts.Preconditions = metav1.NewUIDPreconditions(string(pod.UID))
		err := kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, *opts)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
}
