package kubelet

import (
	"context"
	"log/slog"
	"sync"
	"time"

	vkerrdefs "github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"banger/internal/api"
)

// ProviderConfig is what a Provider works with.
type ProviderConfig struct {
	Daemon Daemon
	// Node is this node's name; its VMs carry it as LabelNode.
	Node string
	// HostIP is the node's address, shown as each pod's host IP.
	HostIP string
	// Sizes is a VM's size when its container asks for none.
	Sizes Sizes
	// Volumes finds the ConfigMaps and Secrets that volumes name.
	Volumes VolumeSource
	Events  record.EventRecorder
	Log     *slog.Logger
	// LogDir keeps the output of pods whose command ended, whose VMs are
	// gone; "" keeps none.
	LogDir string
	// Poll is how often a running command is looked at; 0 means a second.
	Poll time.Duration
	// RestartDelay is the wait before a command's first restart, doubled
	// each time up to five minutes; 0 means ten seconds.
	RestartDelay time.Duration
	// Remove takes a deleted pod out of the cluster once its VM is gone,
	// as a kubelet does when a pod's containers have stopped; nil leaves
	// that to virtual-kubelet, which waits out the whole grace period.
	Remove func(ctx context.Context, pod *corev1.Pod) error
}

// VolumeSource finds the ConfigMaps and Secrets a pod's volumes name.
type VolumeSource = volumeSource

// Provider runs each pod of this node as a banger VM: it is
// virtual-kubelet's PodLifecycleHandler and PodNotifier.
type Provider struct {
	cfg ProviderConfig
	// life bounds the pods' own goroutines, which outlive the calls that
	// start them; Close ends it.
	life  context.Context
	close context.CancelFunc

	mu     sync.Mutex
	pods   map[string]*podRun // by namespace/name
	notify func(*corev1.Pod)
	// left are the running VMs of this node's pods that a previous
	// kubelet left, by pod UID, until their pods are handed over again.
	left map[types.UID]api.VM
}

var (
	_ node.PodLifecycleHandler = (*Provider)(nil)
	_ node.PodNotifier         = (*Provider)(nil)
)

// podRun is one pod this node runs.
type podRun struct {
	pod    *corev1.Pod // its spec as given, its status as this node sees it
	vm     string
	plan   plan
	cancel context.CancelFunc // stops its loop
	done   chan struct{}      // closed when its loop has returned
}

// NewProvider returns a provider; Close stops its pods' loops (not their
// VMs).
func NewProvider(cfg ProviderConfig) *Provider {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	if cfg.Events == nil {
		cfg.Events = &record.FakeRecorder{}
	}
	if cfg.Volumes == nil {
		cfg.Volumes = noVolumes{}
	}
	life, stop := context.WithCancel(context.Background())
	return &Provider{cfg: cfg, life: life, close: stop, pods: map[string]*podRun{}, left: map[types.UID]api.VM{}}
}

// Close stops watching the pods. Their VMs keep running: a new provider
// adopts them.
func (p *Provider) Close() {
	p.close()
	p.mu.Lock()
	runs := make([]*podRun, 0, len(p.pods))
	for _, r := range p.pods {
		runs = append(runs, r)
	}
	p.mu.Unlock()
	for _, r := range runs {
		<-r.done
	}
}

func key(namespace, name string) string { return namespace + "/" + name }

// CreatePod starts a pod's VM in the background. A pod this node cannot
// honour fails at once, its reason naming the field.
func (p *Provider) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	pod = pod.DeepCopy()
	restarts, started := int32(0), time.Now()
	if len(pod.Status.ContainerStatuses) > 0 {
		restarts = pod.Status.ContainerStatuses[0].RestartCount
	}
	if pod.Status.StartTime != nil {
		started = pod.Status.StartTime.Time // a pod handed over again
	}
	pod.Status = baseStatus(pod, p.cfg.HostIP, started)
	r := &podRun{pod: pod, vm: vmName(pod), done: make(chan struct{})}
	reason, err := ReasonUnsupported, refuse(pod)
	if err == nil {
		reason = reasonConfig
		r.plan, err = translate(pod, p.cfg.Node, p.cfg.Sizes, p.cfg.Volumes)
	}
	if !p.add(r) {
		return nil // a second create of the same pod
	}
	if err != nil {
		close(r.done)
		p.cfg.Events.Event(pod, corev1.EventTypeWarning, reason, err.Error())
		p.update(r, func(st *corev1.PodStatus) { setPodFailed(st, reason, err.Error()) })
		return nil
	}
	if a := p.leftover(ctx, pod.UID); a != nil {
		container(&pod.Status).RestartCount = restarts
		if a.session != nil {
			setRunning(&pod.Status, a.vm, a.session.Started)
		}
		p.cfg.Log.Info("adopted a running pod", "vm", a.vm.Name, "pod", pod.Namespace+"/"+pod.Name)
		p.start(r, a)
		return nil
	}
	setWaiting(&pod.Status, reasonCreating, "")
	p.start(r, nil)
	return nil
}

// add tracks r unless its pod is tracked already.
func (p *Provider) add(r *podRun) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := key(r.pod.Namespace, r.pod.Name)
	if _, ok := p.pods[k]; ok {
		return false
	}
	p.pods[k] = r
	return true
}

// start runs r's loop; adopted is its command's session when the VM runs
// already.
func (p *Provider) start(r *podRun, adopted *adoptedVM) {
	ctx, cancel := context.WithCancel(p.life)
	r.cancel = cancel
	go func() {
		defer close(r.done)
		p.run(ctx, r, adopted)
	}()
}

// UpdatePod takes a pod's new labels and annotations. What else may
// change on a running pod (its image, its deadline) needs a new pod here.
func (p *Provider) UpdatePod(ctx context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.pods[key(pod.Namespace, pod.Name)]
	if !ok {
		return vkerrdefs.NotFoundf("pod %s/%s is not on this node", pod.Namespace, pod.Name)
	}
	r.pod.Labels, r.pod.Annotations = pod.Labels, pod.Annotations
	if pod.Spec.Containers[0].Image != r.pod.Spec.Containers[0].Image {
		p.cfg.Events.Event(pod, corev1.EventTypeWarning, "ImageChangeIgnored", "a banger node does not change a running pod's image; delete the pod to run the new one")
	}
	return nil
}

// DeletePod stops the pod's command (TERM, then KILL after its grace
// period) and deletes its VM, in the background.
func (p *Provider) DeletePod(ctx context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	r, ok := p.pods[key(pod.Namespace, pod.Name)]
	p.mu.Unlock()
	if !ok || r.pod.UID != pod.UID {
		return vkerrdefs.NotFoundf("pod %s/%s is not on this node", pod.Namespace, pod.Name)
	}
	grace := 30 * time.Second
	if s := pod.DeletionGracePeriodSeconds; s != nil {
		grace = time.Duration(*s) * time.Second
	} else if s := pod.Spec.TerminationGracePeriodSeconds; s != nil {
		grace = time.Duration(*s) * time.Second
	}
	go p.teardown(r, grace)
	return nil
}

// GetPod returns a pod as this node sees it.
func (p *Provider) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.pods[key(namespace, name)]
	if !ok {
		return nil, vkerrdefs.NotFoundf("pod %s/%s is not on this node", namespace, name)
	}
	return r.pod.DeepCopy(), nil
}

// GetPodStatus returns a pod's status as this node sees it.
func (p *Provider) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

// GetPods returns every pod this node runs.
func (p *Provider) GetPods(ctx context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(p.pods))
	for _, r := range p.pods {
		out = append(out, r.pod.DeepCopy())
	}
	return out, nil
}

// NotifyPods registers the callback that takes status changes.
func (p *Provider) NotifyPods(ctx context.Context, f func(*corev1.Pod)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notify = f
}

// update changes r's status and reports it.
func (p *Provider) update(r *podRun, change func(*corev1.PodStatus)) {
	p.mu.Lock()
	change(&r.pod.Status)
	pod, notify := r.pod.DeepCopy(), p.notify
	p.mu.Unlock()
	if notify != nil {
		notify(pod)
	}
}

// status is a copy of r's status.
func (p *Provider) status(r *podRun) corev1.PodStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *r.pod.Status.DeepCopy()
}

// forget stops tracking r.
func (p *Provider) forget(r *podRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := key(r.pod.Namespace, r.pod.Name)
	if p.pods[k] == r {
		delete(p.pods, k)
	}
}

func (p *Provider) event(r *podRun, typ, reason, msg string) {
	p.cfg.Events.Event(r.pod, typ, reason, msg)
}
