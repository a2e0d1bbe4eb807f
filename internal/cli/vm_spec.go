package cli

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"banger/internal/api"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/label"
	"banger/internal/network/netpolicy"
	"banger/internal/vmname"
)

// VMSpecOptions are the VM shape flags that vm create and vm run share.
type VMSpecOptions struct {
	Name      string
	Image     string
	Kernel    string
	VCPU      int
	MemoryMiB int
	DiskSize  config.Size
	Cold      bool
	Network   string // network policy; the config's network_policy by default
	// FromSnapshot restores the VM from a snapshot, which then decides
	// everything but the name.
	FromSnapshot string
	// Publish are -p forwards, Docker's [[HOSTADDR:]HOSTPORT:]GUESTPORT[/udp].
	Publish []string
	// Labels are --label KEY=VALUE each.
	Labels []string
	// TTL, when not zero, is how long the VM lives before the daemon
	// deletes it.
	TTL time.Duration

	flags  *pflag.FlagSet // to tell flags given from defaults
	cfgErr error          // config.toml is invalid: the defaults are not the user's
}

// sizeValue lets a config.Size be a flag ("8G", "512M", "16GiB").
type sizeValue struct{ s *config.Size }

func (v sizeValue) String() string { return v.s.String() }
func (v sizeValue) Type() string   { return "size" }
func (v sizeValue) Set(s string) error {
	size, err := config.ParseSize(s)
	if err != nil {
		return err
	}
	*v.s = size
	return nil
}

// addSpecFlags registers the shape flags. Their defaults are resolved
// when the command runs or prints its help, so --help shows what a VM
// would get on this host with this config.
func (a *app) addSpecFlags(cmd *cobra.Command, o *VMSpecOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "", "VM name, a DNS label (default: a generated name)")
	f.StringVar(&o.Image, "image", "", "image to boot; pulled on demand")
	f.StringVar(&o.Kernel, "kernel", "", "kernel to boot (default: the image's kernel)")
	f.IntVar(&o.VCPU, "vcpu", 0, "virtual CPUs")
	f.Var(memoryValue{&o.MemoryMiB}, "memory", memoryUsage)
	f.Var(sizeValue{&o.DiskSize}, "disk-size", "size of the work disk mounted at /root, e.g. 16G")
	f.StringVar(&o.Network, "network", "", "what the VM may reach: internet, none, open or allow=LIST (see Network below)")
	f.BoolVar(&o.Cold, "cold", false, "boot the kernel even when a warm template of this image and size could be restored")
	f.StringVar(&o.FromSnapshot, "from-snapshot", "", "restore the VM from `SNAPSHOT`, made by banger vm snapshot, instead of booting an image")
	f.StringArrayVarP(&o.Publish, "publish", "p", nil, "forward a host port to the guest: `[HOSTADDR:][HOSTPORT:]GUESTPORT[/udp]`, loopback unless HOSTADDR says otherwise (repeatable; see Ports below)")
	f.StringArrayVarP(&o.Labels, "label", "l", nil, "label the VM, `KEY=VALUE` (repeatable; banger vm list --label finds it)")
	f.Var(ttlValue{&o.TTL}, "ttl", "delete the VM, running or not, once this `DURATION` has passed (e.g. 30m, 2h, 7d; banger vm expire moves it)")
	o.flags = f
	deferDefaults(cmd, func() {
		cfg, err := a.config()
		d := a.vmDefaults()
		o.cfgErr = err
		setDefault(f, "image", cfg.DefaultImageName, "")
		setDefault(f, "vcpu", strconv.Itoa(d.VCPU.V), string(d.VCPU.From))
		setDefault(f, "memory", strconv.Itoa(d.MemoryMiB.V), string(d.MemoryMiB.From))
		setDefault(f, "disk-size", d.DiskSize.V.String(), string(d.DiskSize.From))
		setDefault(f, "network", cfg.NetworkPolicy, "")
	})
	_ = cmd.RegisterFlagCompletionFunc("image", a.complete.images)
	_ = cmd.RegisterFlagCompletionFunc("kernel", a.complete.kernels)
	_ = cmd.RegisterFlagCompletionFunc("name", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("from-snapshot", a.complete.snapshots)
	_ = cmd.RegisterFlagCompletionFunc("network", completePolicies)
	_ = cmd.RegisterFlagCompletionFunc("label", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("ttl", cobra.NoFileCompletions)
}

// ttlHelp explains --ttl.
const ttlHelp = `Expiry: --ttl DURATION (30m, 2h, 7d) has bangerd delete the VM, running or
not, once DURATION has passed since the command; ` + "`banger vm expire`" + ` moves it.`

// specHelp explains where the flag defaults come from, and the network
// policies.
func specHelp(a *app) string {
	return networkHelp + "\n\n" + portsHelp + "\n\n" + labelHelp + "\n\n" + ttlHelp + "\n\n" + fmt.Sprintf(`Size defaults come from [vm_defaults] in %s when set ([config]),
else from this host ([auto]: a quarter of the CPUs up to 4, an eighth of the
memory up to 8 GiB, an 8G disk), else from built-in minimums ([builtin]).`, a.dirs.ConfigFile())
}

// request validates the options and builds the API request; a --ttl
// counts from now.
func (o VMSpecOptions) request() (api.CreateVMRequest, error) {
	req, err := o.shape()
	if err != nil {
		return req, err
	}
	if req.Labels, err = label.ParseMap(o.Labels); err != nil {
		return req, fmt.Errorf("--label: %w", err)
	}
	if o.TTL > 0 {
		req.ExpiresAt = time.Now().Add(o.TTL).UTC()
	}
	return req, nil
}

// shape validates the options that say what the VM is, and builds the
// API request.
func (o VMSpecOptions) shape() (api.CreateVMRequest, error) {
	if o.Name != "" {
		if err := vmname.Validate(o.Name); err != nil {
			return api.CreateVMRequest{}, err
		}
	}
	policy, err := netpolicy.Parse(o.Network)
	if err != nil {
		return api.CreateVMRequest{}, fmt.Errorf("--network: %w", err)
	}
	ports, err := parsePublish(o.Publish)
	if err != nil {
		return api.CreateVMRequest{}, err
	}
	if len(ports) > 0 && policy.Mode == netpolicy.None {
		return api.CreateVMRequest{}, errdefs.InvalidArgument("-p with --network none: under none the host cannot reach the guest, so no port can be forwarded; pick another --network or drop -p")
	}
	if o.FromSnapshot != "" {
		for _, f := range []string{"image", "kernel", "vcpu", "memory", "disk-size", "cold"} {
			if o.flags != nil && o.flags.Changed(f) {
				return api.CreateVMRequest{}, errdefs.InvalidArgument("--from-snapshot and --%s: a VM made from a snapshot has the snapshot's image, kernel, size and disks; drop --%s", f, f)
			}
		}
		if err := vmname.ValidateResource("snapshot", o.FromSnapshot); err != nil {
			return api.CreateVMRequest{}, err
		}
		return api.CreateVMRequest{Name: o.Name, Network: policy.String(), FromSnapshot: o.FromSnapshot, Ports: ports}, nil
	}
	if o.cfgErr != nil {
		return api.CreateVMRequest{}, fmt.Errorf("new VMs take their defaults from the config, and it is invalid: %w", o.cfgErr)
	}
	if o.Image == "" {
		return api.CreateVMRequest{}, errdefs.InvalidArgument("no image: pass --image or set default_image_name in the config")
	}
	if o.VCPU < 1 {
		return api.CreateVMRequest{}, errdefs.InvalidArgument("--vcpu %d: a VM needs at least 1 vcpu", o.VCPU)
	}
	if o.MemoryMiB < 128 {
		return api.CreateVMRequest{}, errdefs.InvalidArgument("--memory %d: a VM needs at least 128 MiB", o.MemoryMiB)
	}
	if o.DiskSize < config.MinDiskSize {
		return api.CreateVMRequest{}, errdefs.InvalidArgument("--disk-size %s: the work disk must be at least %s", o.DiskSize, config.MinDiskSize)
	}
	if o.DiskSize > config.MaxDiskSize {
		return api.CreateVMRequest{}, errdefs.InvalidArgument("--disk-size %s: banger makes work disks of at most %s: pass a smaller --disk-size", o.DiskSize, config.MaxDiskSize)
	}
	return api.CreateVMRequest{
		Name: o.Name, Image: o.Image, Kernel: o.Kernel,
		VCPU: o.VCPU, MemoryMiB: o.MemoryMiB, DiskBytes: int64(o.DiskSize), Cold: o.Cold,
		Network: policy.String(), Ports: ports,
	}, nil
}

// printSpec writes the spec line a user sees before a VM is made.
func printSpec(w io.Writer, req api.CreateVMRequest) {
	if req.FromSnapshot != "" {
		fmt.Fprintln(w, "from snapshot", req.FromSnapshot)
		return
	}
	fmt.Fprintln(w, config.SpecLine(req.VCPU, req.MemoryMiB, config.Size(req.DiskBytes)))
}
