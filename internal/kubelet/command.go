package kubelet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
	"banger/internal/config"
	"banger/internal/paths"
)

// CLIEnv names the banger command to the kubelet, which runs its doctor;
// `banger kubelet` sets it.
const CLIEnv = "BANGER_CLI"

// flags are the command line of banger-kubelet.
type flags struct {
	kubeconfig, nodeName, nodeIP, listen string
	tls                                  TLSOptions
	reserveCPUs, maxPods                 int
	reserveMemory, reserveDisk           config.Size
	doctorEvery                          time.Duration
	verbose                              bool
}

// Run is banger-kubelet's command line.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newCommand(stderr)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return cmd.ExecuteContext(ctx)
}

func newCommand(stderr io.Writer) *cobra.Command {
	f := flags{reserveCPUs: 1, maxPods: 32, reserveMemory: config.GiB, reserveDisk: 10 * config.GiB}
	cmd := &cobra.Command{
		Use:   "banger-kubelet",
		Short: "Join a Kubernetes cluster as a node whose pods are banger VMs",
		Long: `Register this host as a Kubernetes node, backed by bangerd: each pod scheduled
here runs as one banger VM, its container's command in the VM. The node
carries the taint ` + TaintKey + `=` + TaintValue + `:NoSchedule, so that only
pods that tolerate it land here. It keeps running until interrupted; the
pods' VMs outlive it, and it takes them back when it starts again.

The cluster is reached with --kubeconfig, else $KUBECONFIG, else the
in-cluster configuration. kubectl logs and exec need the kubelet API,
served on --listen when --client-ca is given. See docs/kubernetes.md.`,
		Example: `  banger kubelet --kubeconfig ~/.kube/config
  banger kubelet --node-name ci-3 --client-ca /etc/kubernetes/pki/ca.crt`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.serve(cmd.Context(), stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "the cluster's kubeconfig (default $KUBECONFIG, else in-cluster)")
	fl.StringVar(&f.nodeName, "node-name", "", "the node's name (default this host's name)")
	fl.StringVar(&f.nodeIP, "node-ip", "", "the address the API server reaches this node at (default this host's first global address)")
	fl.StringVar(&f.listen, "listen", ":10250", "the kubelet API's address, for kubectl logs and exec")
	fl.StringVar(&f.tls.ClientCA, "client-ca", "", "CA of the client certificates allowed on the kubelet API; without it the API is off")
	fl.StringSliceVar(&f.tls.AllowedNames, "allowed-client", nil, "common name of a client certificate allowed on the kubelet API (repeatable; default any the CA signed)")
	fl.StringVar(&f.tls.CertFile, "tls-cert", "", "the kubelet API's serving certificate (default a self-signed one)")
	fl.StringVar(&f.tls.KeyFile, "tls-key", "", "the serving certificate's key")
	fl.IntVar(&f.reserveCPUs, "reserve-cpus", f.reserveCPUs, "CPUs kept back from pods for the host")
	fl.Var(sizeFlag{&f.reserveMemory}, "reserve-memory", "memory kept back from pods for the host")
	fl.Var(sizeFlag{&f.reserveDisk}, "reserve-disk", "disk kept back from pods in bangerd's state directory")
	fl.IntVar(&f.maxPods, "max-pods", f.maxPods, "the most pods this node runs at once")
	fl.DurationVar(&f.doctorEvery, "doctor-every", time.Minute, "how often banger doctor refreshes the node's conditions")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log debug messages")
	return cmd
}

// serve gathers what the node needs and runs it.
func (f *flags) serve(ctx context.Context, stderr io.Writer) error {
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	kube, err := kubeClient(f.kubeconfig)
	if err != nil {
		return err
	}
	v, err := kube.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("reaching the cluster: %w; check --kubeconfig or $KUBECONFIG", err)
	}
	log.Info("cluster reached", "version", v.GitVersion)
	dirs, err := paths.Default()
	if err != nil {
		return err
	}
	o, err := f.options(ctx, dirs)
	if err != nil {
		return err
	}
	o.Kube, o.Log = kube, log
	if o.TLS == nil {
		log.Warn("the kubelet API is off, and with it kubectl logs, exec and port-forward: give --client-ca to serve it")
	}
	return Serve(ctx, o)
}

// options work out the node's spec, sizes and doctor on this host.
func (f *flags) options(ctx context.Context, dirs paths.Dirs) (Options, error) {
	c := &client.Client{}
	if _, err := c.Daemon(ctx); err != nil {
		return Options{}, fmt.Errorf("reaching bangerd: %w; start it with `banger daemon start`, or run this through `banger kubelet`", err)
	}
	cfg, err := config.Load(dirs.ConfigFile())
	if err != nil {
		return Options{}, fmt.Errorf("reading banger's config: %w", err)
	}
	host, err := DetectHost(dirs.State)
	if err != nil {
		return Options{}, err
	}
	doc := BangerDoctor(bangerCommand())
	results, docErr := doc(ctx)
	driver, accel := driverAndAccel(results, string(cfg.VMM))
	d := config.ResolveVMDefaults(cfg.VMDefaults, config.DetectHost())
	spec := NodeSpec{
		Name: f.nodeName, IP: f.nodeIP, Port: listenPort(f.listen), Host: host,
		Reserve: Reserve{CPUs: f.reserveCPUs, MemoryBytes: int64(f.reserveMemory), DiskBytes: int64(f.reserveDisk), Pods: f.maxPods},
		Driver:  driver, Accel: accel, Conditions: conditions(results, docErr, time.Now()),
	}
	if spec.Name == "" {
		if spec.Name, err = os.Hostname(); err != nil {
			return Options{}, fmt.Errorf("reading the host name: %w; give --node-name", err)
		}
		spec.Name = strings.ToLower(spec.Name)
	}
	if spec.IP == "" {
		spec.IP = DetectIP()
	}
	o := Options{
		Daemon: Client{C: c}, Spec: spec, Doctor: doc, DoctorEvery: f.doctorEvery, Listen: f.listen,
		Sizes:  Sizes{VCPU: d.VCPU.V, MemoryMiB: d.MemoryMiB.V, DiskBytes: int64(d.DiskSize.V)},
		LogDir: dirs.KubeletLogs(),
	}
	if f.tls.ClientCA != "" {
		o.TLS = &f.tls
	}
	return o, nil
}

// bangerCommand is the banger CLI: $BANGER_CLI, else banger beside this
// binary's install (PREFIX/bin next to PREFIX/lib/banger), else PATH's.
func bangerCommand() string {
	if p := os.Getenv(CLIEnv); p != "" {
		return p
	}
	if exe, err := os.Executable(); err == nil {
		for _, p := range []string{filepath.Join(filepath.Dir(exe), "..", "..", "bin", "banger"), filepath.Join(filepath.Dir(exe), "banger")} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return filepath.Clean(p)
			}
		}
	}
	return "banger"
}

// sizeFlag is a config.Size as a flag: 1G, 512M.
type sizeFlag struct{ s *config.Size }

func (f sizeFlag) String() string     { return f.s.String() }
func (f sizeFlag) Set(v string) error { return f.s.UnmarshalText([]byte(v)) }
func (f sizeFlag) Type() string       { return "size" }
