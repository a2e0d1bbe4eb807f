// Package kubecp runs a real Kubernetes control plane (etcd,
// kube-apiserver, kube-scheduler) for banger's end-to-end tests and its
// bench, inside a network namespace the caller made, so that Kubernetes
// itself registers nodes and schedules pods, not a fake clientset. Tests
// call Start; programs that are not tests call Run and Stop.
//
// The recipe:
//
//   - The binaries come from Go modules, not from release downloads:
//     tools/kube is a module of its own (kept out of banger's go.mod) that
//     requires k8s.io/kubernetes v1.37.2 with a replace for each of its
//     staging modules (k8s.io/api, apimachinery, apiserver, client-go,
//     component-base, ...) to the matching v0.37.2, declares
//     cmd/kube-apiserver and cmd/kube-scheduler as tools, and holds a small
//     etcd main around go.etcd.io/etcd/server/v3's embed package (v3.7.0,
//     the etcd the apiserver's client is pinned to). They are built with
//     `go build -trimpath` and the version stamped by -X on
//     k8s.io/component-base/version (gitVersion, gitMajor, gitMinor).
//   - The built binaries are cached under $BANGER_TEST_CACHE/kube/KEY (a
//     program passes its own cache root to CacheDir),
//     KEY being a digest of every file of tools/kube (go.mod, go.sum, the
//     etcd main), the Go version and the build flags; a build goes to a
//     temporary directory renamed into place, under a lock, and removes
//     the builds of other keys. A cold build takes tens of minutes on two
//     cores and reports its progress on stderr; a cached one costs nothing.
//   - Start runs each program with `ip netns exec NS` on 127.0.0.1 of that
//     namespace, never on the host's network: etcd on 2379 and 2380,
//     kube-apiserver on 6443, kube-scheduler's own endpoint on 10259.
//     Certificates are made fresh per run under the test's temporary
//     directory: a CA, the apiserver's serving certificate, an admin client
//     certificate in group system:masters, the apiserver's client
//     certificate for kubelets, and the service account key pair.
//   - kube-apiserver needs --endpoint-reconciler-type=none (its address is
//     loopback), and with no controller manager the ServiceAccount and
//     TaintNodesByCondition admission plugins are off: nothing would make
//     the default service account, and nothing would lift the
//     not-ready taint from new nodes. Authorization is Node,RBAC;
//     privileged pods are allowed so that a kubelet may refuse them itself.
//   - Start waits for /readyz, then starts kube-scheduler. The test talks
//     to the apiserver through Config, whose Dial makes each connection
//     from an OS thread in the namespace; programs run inside the namespace
//     use the kubeconfig file Kubeconfig names.
//   - Every process is stopped by its PID when the test ends (or at Stop),
//     and the end of each one's log is printed if the test failed (or is
//     in Run's error).
//
// A node needs capacity and allocatable (cpu, memory, pods) to be given
// pods, since no kubelet reports them here but the one under test.
package kubecp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Server is where kube-apiserver listens, inside the namespace.
const Server = "https://127.0.0.1:6443"

// ControlPlane is a running etcd, kube-apiserver and kube-scheduler.
type ControlPlane struct {
	// Config reaches the apiserver from the test process, which stays in
	// the host's namespace, as the admin (group system:masters).
	Config *rest.Config
	// Kubeconfig is the admin's kubeconfig file, for programs started
	// inside the namespace.
	Kubeconfig string
	// Dir holds the certificates (ca.crt signs them all), the
	// kubeconfig, etcd's data and every process's log.
	Dir string
	// NS is the network namespace it runs in.
	NS string

	certs *certs
	procs []*proc
}

// Options say where a control plane runs and where its binaries come
// from, for Run.
type Options struct {
	// NS is the network namespace to run in; it must exist, with
	// loopback up.
	NS string
	// Dir receives the certificates, the kubeconfig, etcd's data and the
	// processes' logs; it must exist.
	Dir string
	// Tools is the tools module, tools/kube; "" finds it in the banger
	// repository that holds the working directory.
	Tools string
	// Cache holds the built binaries, one directory per key; "" is
	// CacheDir("").
	Cache string
	// Progress receives a cold build's progress; nil is os.Stderr.
	Progress io.Writer
}

// Start builds the control plane if its binaries are not cached, and runs
// it in the network namespace ns until the test ends.
func Start(t testing.TB, ns string) *ControlPlane {
	t.Helper()
	began := time.Now()
	cp, err := Run(context.Background(), Options{NS: ns, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cp.Stop()
		if t.Failed() {
			t.Log(cp.Logs(40))
		}
	})
	t.Logf("kubecp: Kubernetes %s control plane ready in namespace %s after %s", Version, ns, time.Since(began).Round(time.Millisecond))
	return cp
}

// Run is Start for programs that are not tests: it builds the control
// plane if its binaries are not cached and runs it in o.NS until Stop.
// When it fails, nothing it started is left running, and the error ends
// with the processes' logs.
func Run(ctx context.Context, o Options) (*ControlPlane, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	bin, err := Binaries(ctx, o.Tools, o.Cache, o.Progress)
	if err != nil {
		return nil, err
	}
	cp, err := setUp(o.Dir, o.NS)
	if err != nil {
		return nil, err
	}
	if err := cp.run(ctx, bin); err != nil {
		cp.Stop()
		return nil, fmt.Errorf("%w\n%s", err, cp.Logs(40))
	}
	return cp, nil
}

// fill sets the defaults of the fields left empty.
func (o *Options) fill() error {
	if o.NS == "" || o.Dir == "" {
		return errors.New("kubecp: a control plane needs a network namespace and a directory")
	}
	return o.fillBuild()
}

// fillBuild sets the defaults of the fields a build uses: Tools, Cache
// and Progress.
func (o *Options) fillBuild() error {
	var err error
	if o.Tools == "" {
		if o.Tools, err = toolsDir(); err != nil {
			return err
		}
	}
	if o.Cache == "" {
		if o.Cache, err = CacheDir(""); err != nil {
			return err
		}
	}
	if o.Progress == nil {
		o.Progress = os.Stderr
	}
	return nil
}

// setUp makes the credentials and the kubeconfig in dir.
func setUp(dir, ns string) (*ControlPlane, error) {
	c, err := newCerts()
	if err != nil {
		return nil, err
	}
	if err := c.write(dir); err != nil {
		return nil, err
	}
	cp := &ControlPlane{Dir: dir, NS: ns, certs: c, Kubeconfig: filepath.Join(dir, "kubeconfig")}
	if err := writeKubeconfig(cp.Kubeconfig, c.ca.cert, c.admin); err != nil {
		return nil, err
	}
	cp.Config = &rest.Config{
		Host: Server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: c.ca.cert, CertData: c.admin.cert, KeyData: c.admin.key,
		},
		Dial:  DialIn(ns),
		QPS:   50,
		Burst: 100,
	}
	return cp, nil
}

// run starts etcd and kube-apiserver, waits until the apiserver is
// ready, then starts kube-scheduler.
func (cp *ControlPlane) run(ctx context.Context, bin string) error {
	etcd, err := startIn(cp.NS, cp.Dir, filepath.Join(bin, Etcd),
		"-data-dir", filepath.Join(cp.Dir, "etcd"),
		"-listen-client", "127.0.0.1:2379", "-listen-peer", "127.0.0.1:2380")
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, etcd)
	api, err := startIn(cp.NS, cp.Dir, filepath.Join(bin, APIServer), apiServerArgs(cp.Dir)...)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, api)
	if err := cp.waitReady(ctx, 3*time.Minute); err != nil {
		return err
	}
	sched, err := startIn(cp.NS, cp.Dir, filepath.Join(bin, Scheduler),
		"--kubeconfig", cp.Kubeconfig, "--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", "10259")
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, sched)
	return nil
}

func apiServerArgs(dir string) []string {
	f := func(name string) string { return filepath.Join(dir, name) }
	return []string{
		"--etcd-servers", "http://127.0.0.1:2379",
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", "6443",
		"--tls-cert-file", f("apiserver.crt"),
		"--tls-private-key-file", f("apiserver.key"),
		"--client-ca-file", f("ca.crt"),
		"--kubelet-client-certificate", f("kubelet-client.crt"),
		"--kubelet-client-key", f("kubelet-client.key"),
		"--kubelet-preferred-address-types", "InternalIP,Hostname",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", f("sa.pub"),
		"--service-account-signing-key-file", f("sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--authorization-mode", "Node,RBAC",
		"--endpoint-reconciler-type", "none",
		"--disable-admission-plugins", "ServiceAccount,TaintNodesByCondition",
		"--allow-privileged=true",
		"--profiling=false",
	}
}

// waitReady polls /readyz until it answers ok, a process exits, or limit
// passes.
func (cp *ControlPlane) waitReady(ctx context.Context, limit time.Duration) error {
	client, err := rest.HTTPClientFor(cp.Config)
	if err != nil {
		return fmt.Errorf("making a client for the apiserver: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		for _, p := range cp.procs {
			if err := p.exited(); err != nil {
				return err
			}
		}
		if last = readyz(ctx, client); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver was not ready within %s: %w (its log is in %s)", limit, last, cp.Dir)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func readyz(ctx context.Context, client *http.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, Server+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz answered %s", resp.Status)
	}
	return nil
}

// Stop ends every process, newest first, by its PID.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].stop(10 * time.Second)
	}
}

// Logs is the last n lines of each process's log, for a failure's report.
func (cp *ControlPlane) Logs(n int) string {
	var b strings.Builder
	for _, p := range cp.procs {
		fmt.Fprintf(&b, "kubecp: the log of %s (%s) ends with:\n%s\n", p.name, p.log, p.tail(n))
	}
	return b.String()
}
