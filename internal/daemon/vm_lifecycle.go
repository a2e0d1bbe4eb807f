package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/api"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/guestssh"
	"banger/internal/network"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
	"banger/internal/vmm/consolelog"
	"banger/internal/vmname"
)

// VM states as the store and the API report them.
const (
	stateCreating = "creating"
	stateStarting = "starting"
	stateRunning  = "running"
	stateStopped  = "stopped"
)

const (
	// defaultReadyTimeout bounds the wait for a booting guest's agent. A
	// cold boot takes seconds under KVM and under 30 s under emulation.
	defaultReadyTimeout = 150 * time.Second
	// stopGrace is how long a guest gets to power off before it is killed.
	stopGrace = 30 * time.Second
	// agentShutdownWait bounds asking the guest agent to power off.
	agentShutdownWait = 3 * time.Second
)

// readyTimeout is defaultReadyTimeout, or BANGER_READY_TIMEOUT (a Go
// duration) for tests that exercise a guest that never gets ready.
func readyTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("BANGER_READY_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return defaultReadyTimeout
}

func (s *server) lockVM(name string) func() { return s.vmLocks.lock("vm/" + name) }

// sshKeyPath is ssh_key_path, or banger's own key under the config dir.
func (s *server) sshKeyPath() string {
	if p := s.config().SSHKeyPath; p != "" {
		if rest, ok := strings.CutPrefix(p, "~/"); ok {
			if home, err := os.UserHomeDir(); err == nil {
				return filepath.Join(home, rest)
			}
		}
		return p
	}
	return filepath.Join(s.dirs.Config, "ssh", "id_ed25519")
}

func newVID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createVM makes a VM and boots it: the named steps are resolving the
// image and kernel (pulling them when missing), recording the VM,
// preparing its disks, then booting (see boot). A failure before the guest
// runs undoes everything; a guest that boots but never reports ready is
// kept, so its console log can be read.
func (s *server) createVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) (store.VM, error) {
	if req.Name == "" {
		req.Name = vmname.Generate(func(n string) bool { _, err := s.store.GetVM(ctx, n); return err == nil })
	}
	if err := vmname.Validate(req.Name); err != nil {
		return store.VM{}, err
	}
	netPolicy, err := s.newVMNetwork(req.Network)
	if err != nil {
		return store.VM{}, err
	}
	if req.FromSnapshot != "" {
		// The snapshot says what the VM is; only its name and network
		// policy are the caller's.
		if req.Image != "" || req.Kernel != "" || req.VCPU != 0 || req.MemoryMiB != 0 || req.DiskBytes != 0 || req.Cold || req.Workspace != nil {
			return store.VM{}, errdefs.InvalidArgument("a VM made from a snapshot has the snapshot's image, kernel, size and disks: give it only a name")
		}
	} else {
		if req.VCPU < 1 || req.MemoryMiB < 1 || req.DiskBytes < 1 {
			return store.VM{}, errdefs.InvalidArgument("vcpu, memory_mib and disk_bytes must be positive")
		}
		if err := checkHostFits(config.DetectHost(), req.VCPU, req.MemoryMiB); err != nil {
			return store.VM{}, err
		}
	}
	// The key is checked first: a key ssh would refuse should not cost an
	// image pull and a boot to find out.
	if _, err := guestssh.EnsureKey(s.sshKeyPath()); err != nil {
		return store.VM{}, err
	}
	defer s.lockVM(req.Name)()
	if _, err := s.store.GetVM(ctx, req.Name); err == nil {
		return store.VM{}, errdefs.AlreadyExists("a VM named %s already exists: pick another --name, or remove it with `banger vm delete %s`", req.Name, req.Name)
	}
	if req.FromSnapshot != "" {
		return s.createFromSnapshot(ctx, store.VM{Name: req.Name, VID: newVID(), Network: netPolicy}, req.FromSnapshot, prog)
	}
	vmmName, err := s.pickVMM()
	if err != nil {
		return store.VM{}, err
	}
	im, k, err := s.resolveImage(ctx, req.Image, req.Kernel, prog)
	if err != nil {
		return store.VM{}, err
	}
	trees, err := workspaceTrees(ctx, req.Workspace, prog)
	if err != nil {
		return store.VM{}, err
	}
	v := store.VM{
		Name: req.Name, State: stateCreating, Image: im.Name, Kernel: k.Name, VMM: vmmName,
		VCPU: req.VCPU, MemoryMiB: req.MemoryMiB, DiskBytes: req.DiskBytes, VID: newVID(),
		Network: netPolicy,
	}
	if err := s.store.CreateVM(ctx, v); err != nil {
		return store.VM{}, err
	}
	kept := false
	defer func() {
		if !kept {
			if err := s.destroyVM(context.WithoutCancel(ctx), v); err != nil {
				s.log.Warn("undoing a failed create", "vm", v.Name, "err", err)
			}
		}
	}()
	if !req.Cold {
		warm, err := s.warmStart(ctx, &v, im, k, trees, prog)
		if err != nil {
			return store.VM{}, err
		}
		if warm {
			kept = true
			return v, nil
		}
	}
	if err := s.prepareDisks(ctx, &v, im, trees, prog); err != nil {
		return store.VM{}, fmt.Errorf("preparing disks: %w", err)
	}
	err = s.boot(ctx, &v, im, k, prog)
	if err != nil && !errors.Is(err, errNotReady) {
		return store.VM{}, err
	}
	kept = true
	return v, err
}

// checkHostFits refuses a VM larger than the host: more vCPUs than it has
// CPUs, or more memory than it has in all.
func checkHostFits(h config.Host, vcpu, memoryMiB int) error {
	if h.CPUs > 0 && vcpu > h.CPUs {
		return errdefs.InvalidArgument("%d vcpus asked, but this host has %d CPUs: pass --vcpu %d or fewer", vcpu, h.CPUs, h.CPUs)
	}
	if hostMiB := h.MemoryBytes >> 20; hostMiB > 0 && int64(memoryMiB) > hostMiB {
		return errdefs.InvalidArgument("%d MiB of memory asked, but this host has %d MiB in all: pass a smaller --memory", memoryMiB, hostMiB)
	}
	return nil
}

// resolveImage finds the image and its kernel, pulling catalog ones (and
// OCI references) that are not here yet.
func (s *server) resolveImage(ctx context.Context, imageName, kernelName string, prog progress.Func) (store.Image, store.Kernel, error) {
	// A kernel named on the command line is found first: a typo there
	// should not wait for an image build.
	var k store.Kernel
	if kernelName != "" {
		var err error
		if k, err = s.resolveKernel(ctx, kernelName, prog); err != nil {
			return store.Image{}, store.Kernel{}, err
		}
	}
	im, err := s.store.GetImage(ctx, imageName)
	if errdefs.KindOf(err) == errdefs.KindNotFound {
		if isOCIRef(imageName) {
			im, err = s.pullOCI(ctx, imageName, prog)
		} else {
			im, err = s.pullCatalogImage(ctx, imageName, prog)
		}
	}
	if err != nil {
		return store.Image{}, store.Kernel{}, err
	}
	if kernelName != "" {
		return im, k, nil
	}
	if im.Kernel == "" {
		return store.Image{}, store.Kernel{}, errdefs.InvalidArgument("image %s names no kernel: pass --kernel (see `banger kernel list`)", im.Name)
	}
	k, err = s.resolveKernel(ctx, im.Kernel, prog)
	return im, k, err
}

// resolveKernel finds a kernel, pulling a catalog one that is not here.
func (s *server) resolveKernel(ctx context.Context, name string, prog progress.Func) (store.Kernel, error) {
	k, err := s.store.GetKernel(ctx, name)
	if errdefs.KindOf(err) == errdefs.KindNotFound {
		k, err = s.pullKernel(ctx, name, prog)
	}
	return k, err
}

// prepareDisks derives the VM's root from its image and builds its work
// disk with the user's public key, the file_sync entries and trees (a
// workspace copy).
func (s *server) prepareDisks(ctx context.Context, v *store.VM, im store.Image, trees []vmdisk.Tree, prog progress.Func) error {
	prog.Step("preparing disks")
	dir := s.vmDir(v.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	root, err := vmdisk.PrepareRoot(ctx, im.RootfsPath, dir)
	if err != nil {
		return err
	}
	v.RootMode = string(root.Mode)
	if err := s.prepareWork(ctx, v, trees, prog); err != nil {
		return err
	}
	return s.store.UpdateVM(ctx, *v)
}

// prepareWork builds the VM's work disk, unless it has one.
func (s *server) prepareWork(ctx context.Context, v *store.VM, trees []vmdisk.Tree, prog progress.Func) error {
	dir := s.vmDir(v.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(workDisk(dir)); err == nil {
		return nil
	}
	pub, err := guestssh.EnsureKey(s.sshKeyPath())
	if err != nil {
		return err
	}
	home, _ := os.UserHomeDir()
	return vmdisk.BuildWork(ctx, vmdisk.WorkOptions{
		Path: workDisk(dir), Size: v.DiskBytes, AuthorizedKeys: pub,
		FileSync: s.config().FileSync, HostHome: home, Trees: trees, Progress: prog,
	})
}

// warmStart restores v from its combination's warm template, making the
// template first when there is none. It reports false, having said why
// in one line, when the VM should boot cold instead: a driver without
// saved state, or a template that cannot be made or restored (which is
// then removed, to be made again next time).
func (s *server) warmStart(ctx context.Context, v *store.VM, im store.Image, k store.Kernel, trees []vmdisk.Tree, prog progress.Func) (bool, error) {
	drv, err := s.driver(v.VMM)
	if err != nil {
		return false, err
	}
	if _, ok := drv.(vmm.Snapshotter); !ok {
		return false, nil
	}
	t, dir, err := s.ensureTemplate(ctx, im, k, v.VCPU, v.MemoryMiB, v.VMM, prog)
	if err == nil {
		if err = s.prepareWork(ctx, v, trees, prog); err != nil {
			return false, fmt.Errorf("preparing disks: %w", err)
		}
		err = s.restoreVM(ctx, v, im, k, t, dir, prog)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			os.RemoveAll(dir) // damaged or unusable: made again next time
		}
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	s.log.Warn("warm start failed; booting cold", "vm", v.Name, "err", err)
	prog.Note("warm start", fmt.Sprintf("warning: warm start failed, booting cold: %v", err))
	return false, nil
}

// errNotReady marks a VM that runs but whose guest never reported ready.
var errNotReady = errors.New("guest not ready")

type notReadyError struct{ err error }

func (e notReadyError) Error() string { return e.err.Error() }
func (e notReadyError) Unwrap() []error {
	return []error{e.err, errNotReady}
}

// boot starts a VM whose disks exist: it assigns an address and a tap,
// starts the VMM, and waits for the guest agent, whose host keys become
// the VM's known_hosts. The caller holds the VM's lock.
func (s *server) boot(ctx context.Context, v *store.VM, im store.Image, k store.Kernel, prog progress.Func) error {
	drv, err := s.driver(v.VMM)
	if err != nil {
		return err
	}
	prog.Step("attaching to the bridge")
	spec, err := s.prepareLaunch(ctx, v, im, k, false)
	if err != nil {
		return err
	}
	prog.Step("booting on " + v.VMM)
	info, err := drv.Start(ctx, spec)
	if err != nil {
		s.releaseNetwork(context.WithoutCancel(ctx), v)
		return err
	}
	if err := saveMachine(spec); err != nil {
		s.log.Warn("recording the VM's machine; a snapshot of it will assume a cold boot's", "vm", v.Name, "err", err)
	}
	v.Accel, v.State, v.LastError = info.Accelerator, unfinishedState(v.State), ""
	if err := s.store.UpdateVM(ctx, *v); err != nil {
		return err
	}
	s.watch(*v, drv, spec)
	prog.Step(fmt.Sprintf("waiting for the guest (%s)", info.Accelerator))
	status, err := s.waitReady(ctx, drv, spec)
	if err == nil && len(status.HostKeys) > 0 {
		err = guestssh.WriteKnownHosts(s.knownHosts(v.Name), v.Name, status.HostKeys)
	} else if err == nil && status.SSH {
		err = errors.New("the guest runs sshd but reported no host keys")
	}
	if err == nil && status.SSH {
		err = s.waitGuestSSH(ctx, *v)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		v.State, v.LastError = stateRunning, err.Error()
		_ = s.store.UpdateVM(context.WithoutCancel(ctx), *v)
		return notReadyError{errdefs.Unavailable("VM %s is running but its guest did not get ready: %v. It is kept so you can look: `banger vm logs %s`, then `banger vm delete --force %s`", v.Name, err, v.Name, v.Name)}
	}
	v.State = stateRunning
	return s.store.UpdateVM(ctx, *v)
}

// waitReady waits for the guest agent to report ready, giving up early
// when the VMM exits.
func (s *server) waitReady(ctx context.Context, drv vmm.Driver, spec vmm.Spec) (agentproto.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout())
	defer cancel()
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		if drv.Wait(ctx, spec) == nil {
			cancel()
		}
	}()
	st, err := agentclient.WaitReady(ctx, agentEndpoint(drv, spec))
	cancel()
	<-exited
	if err != nil {
		if state, _ := drv.State(context.Background(), spec); state == vmm.StateStopped {
			return st, fmt.Errorf("the VM exited while booting; its console ends with:\n%s", consoleTail(spec, 15))
		}
		return st, err
	}
	return st, nil
}

// prepareLaunch attaches v to the network (its tap unplugged when asked)
// and returns the spec its VMM starts with, its run dir made. On error
// the network is released again.
func (s *server) prepareLaunch(ctx context.Context, v *store.VM, im store.Image, k store.Kernel, unplugged bool) (vmm.Spec, error) {
	if err := s.attachNetwork(ctx, v, unplugged); err != nil {
		return vmm.Spec{}, fmt.Errorf("setting up the network: %w", err)
	}
	spec, err := s.vmSpec(*v, k, s.rootOf(*v, im))
	if err == nil {
		err = os.MkdirAll(spec.RunDir, 0o700)
	}
	if err != nil {
		s.releaseNetwork(context.WithoutCancel(ctx), v)
		return vmm.Spec{}, err
	}
	return spec, nil
}

// attachNetwork gives v a free guest address, a MAC and a tap on the
// bridge, creating the bridge when it is the first VM to need it. An
// unplugged tap stays off the bridge until plugTap.
func (s *server) attachNetwork(ctx context.Context, v *store.VM, unplugged bool) error {
	nc, err := s.netConfig()
	if err != nil {
		return err
	}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	vms, err := s.store.ListVMs(ctx)
	if err != nil {
		return err
	}
	var used []netip.Addr
	for _, o := range vms {
		if a, err := netip.ParseAddr(o.IP); err == nil && o.Name != v.Name {
			used = append(used, a)
		}
	}
	ip, err := network.Allocate(nc, used)
	if err != nil {
		return err
	}
	v.IP, v.MAC, v.Tap = ip.String(), network.GuestMAC(ip), network.TapName(v.VID)
	if err := s.store.UpdateVM(ctx, *v); err != nil {
		return err
	}
	if err := s.net.EnsureBridge(ctx, nc); err != nil {
		return err
	}
	ensure := s.net.EnsureTap
	if unplugged {
		ensure = s.net.EnsureUnpluggedTap
	}
	if err := ensure(ctx, nc, v.Tap, os.Getuid()); err != nil {
		return err
	}
	if err := s.applyPolicy(ctx, nc, *v); err != nil {
		return err
	}
	s.syncDNS(ctx)
	return nil
}

// plugTap puts v's tap, attached unplugged, on the bridge.
func (s *server) plugTap(ctx context.Context, v store.VM) error {
	nc, err := s.netConfig()
	if err != nil {
		return err
	}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	return s.net.EnsureTap(ctx, nc, v.Tap, os.Getuid())
}

// releaseNetwork frees v's tap and address, and removes the bridge and
// NAT rules when no VM needs them any more.
func (s *server) releaseNetwork(ctx context.Context, v *store.VM) {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	if v.Tap != "" {
		if err := s.net.DeleteTap(ctx, v.Tap); err != nil {
			s.log.Warn("removing tap", "vm", v.Name, "tap", v.Tap, "err", err)
		}
	}
	v.IP, v.Tap = "", ""
	if err := s.store.UpdateVM(ctx, *v); err != nil && errdefs.KindOf(err) != errdefs.KindNotFound {
		s.log.Warn("recording a released address", "vm", v.Name, "err", err)
	}
	s.syncDNS(ctx)
	vms, err := s.store.ListVMs(ctx)
	if err != nil {
		return
	}
	for _, o := range vms {
		if o.Tap != "" && o.Name != v.Name {
			return
		}
	}
	if s.templateTapsInUse("") {
		return
	}
	nc, err := s.netConfig()
	if err != nil {
		return
	}
	if err := s.net.Teardown(ctx, nc); err != nil {
		s.log.Warn("removing the bridge", "err", err)
	}
}

// markStopped records that v's VMM is gone and frees what it held.
func (s *server) markStopped(ctx context.Context, v *store.VM, reason string) {
	v.State, v.Accel = stateStopped, ""
	if reason != "" {
		v.LastError = reason
	}
	s.releaseNetwork(ctx, v)
}

// runSpec is the part of a VM's spec that finding, stopping and killing
// its VMM needs; it does not need the image or kernel to still exist.
func (s *server) runSpec(v store.VM) vmm.Spec {
	dir := s.vmRunDir(v)
	return vmm.Spec{Name: v.Name, RunDir: dir, AgentSocket: filepath.Join(dir, "agent.sock")}
}

// startVM boots a stopped VM again.
func (s *server) startVM(ctx context.Context, name string, prog progress.Func) (store.VM, error) {
	defer s.lockVM(name)()
	v, err := s.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	if v.State != stateStopped {
		drv, err := s.driver(v.VMM)
		if err == nil {
			if st, _ := drv.State(ctx, s.runSpec(v)); st != vmm.StateStopped {
				prog.Note("vm", "VM "+name+" is already running")
				return v, nil
			}
		}
	}
	im, err := s.store.GetImage(ctx, v.Image)
	if err != nil {
		return v, errdefs.FailedPrecondition("VM %s cannot start: its image %s is gone (%v)", name, v.Image, err)
	}
	k, err := s.store.GetKernel(ctx, v.Kernel)
	if err != nil {
		return v, errdefs.FailedPrecondition("VM %s cannot start: its kernel %s is gone (%v)", name, v.Kernel, err)
	}
	err = s.boot(ctx, &v, im, k, prog)
	if err != nil && !errors.Is(err, errNotReady) {
		s.unwatch(name)
		if drv, derr := s.driver(v.VMM); derr == nil {
			_ = drv.Kill(context.WithoutCancel(ctx), s.runSpec(v))
		}
		s.markStopped(context.WithoutCancel(ctx), &v, err.Error())
	}
	return v, err
}

// stopVM powers a VM off, killing it after stopGrace.
func (s *server) stopVM(ctx context.Context, name string) (store.VM, error) {
	defer s.lockVM(name)()
	v, err := s.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	return v, s.stopLocked(ctx, &v)
}

func (s *server) stopLocked(ctx context.Context, v *store.VM) error {
	s.unwatch(v.Name)
	drv, err := s.driver(v.VMM)
	if err != nil {
		return err
	}
	spec := s.runSpec(*v)
	s.poweroffThroughAgent(ctx, v.Name, drv, spec)
	if err := drv.Stop(ctx, spec, stopGrace); err != nil {
		return err
	}
	s.markStopped(ctx, v, "")
	v.LastError = ""
	return s.store.UpdateVM(ctx, *v)
}

// askAgentPoweroff asks the guest agent to power the guest off, which
// works the same on every driver and does not depend on the guest
// handling an ACPI button. It is best effort: the driver's Stop that
// follows waits for the VMM to exit and forces it when the guest does not.
func askAgentPoweroff(ctx context.Context, drv vmm.Driver, spec vmm.Spec) {
	ctx, cancel := context.WithTimeout(ctx, agentShutdownWait)
	defer cancel()
	c, err := agentclient.Dial(ctx, agentEndpoint(drv, spec))
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.Shutdown(ctx)
}

// deleteVM removes VMs; running ones only with force.
func (s *server) deleteVM(ctx context.Context, name string, force bool) error {
	defer s.lockVM(name)()
	v, err := s.store.GetVM(ctx, name)
	if err != nil {
		return err
	}
	if v.State != stateStopped && !force {
		if drv, err := s.driver(v.VMM); err == nil {
			if st, _ := drv.State(ctx, s.runSpec(v)); st != vmm.StateStopped {
				return errdefs.FailedPrecondition("VM %s is running: stop it first (`banger vm stop %s`) or delete it with --force", name, name)
			}
		}
	}
	return s.destroyVM(ctx, v)
}

// destroyVM kills v's VMM if it runs and removes everything it had.
func (s *server) destroyVM(ctx context.Context, v store.VM) error {
	s.unwatch(v.Name)
	if drv, err := s.driver(v.VMM); err == nil {
		if err := drv.Kill(ctx, s.runSpec(v)); err != nil {
			return fmt.Errorf("deleting VM %s: %w", v.Name, err)
		}
	}
	s.releaseNetwork(ctx, &v)
	var errs []error
	for _, dir := range []string{s.vmDir(v.Name), s.vmRunDir(v)} {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.store.DeleteVM(ctx, v.Name); err != nil && errdefs.KindOf(err) != errdefs.KindNotFound {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// watch keeps v's console log within console_log_max while its VMM runs,
// and marks v stopped as soon as its VMM exits on its own (a guest
// poweroff, a crash, kill -9), unless stop or delete took over first.
func (s *server) watch(v store.VM, drv vmm.Driver, spec vmm.Spec) {
	ctx, cancel := context.WithCancel(s.base)
	s.watchMu.Lock()
	if old := s.watchers[v.Name]; old != nil {
		old()
	}
	s.watchers[v.Name] = cancel
	s.watchMu.Unlock()
	go consolelog.Watch(ctx, filepath.Join(spec.RunDir, consolelog.Name), s.consoleLogLimit, s.log.With("vm", v.Name))
	go func() {
		err := drv.Wait(ctx, spec)
		if ctx.Err() != nil || err != nil {
			return
		}
		defer s.lockVM(v.Name)()
		if ctx.Err() != nil {
			return
		}
		cur, err := s.store.GetVM(ctx, v.Name)
		if err != nil || cur.VID != v.VID || cur.State == stateStopped {
			return
		}
		s.log.Info("VM exited", "vm", v.Name)
		s.markStopped(ctx, &cur, "")
		s.unwatch(v.Name)
	}()
}

func (s *server) unwatch(name string) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if cancel := s.watchers[name]; cancel != nil {
		cancel()
		delete(s.watchers, name)
	}
}

// adopt runs at start-up: VMMs outlive the daemon, so VMs whose VMM still
// runs are watched again and the rest are marked stopped, freeing their
// taps and addresses.
func (s *server) adopt(ctx context.Context) {
	vms, err := s.store.ListVMs(ctx)
	if err != nil {
		s.log.Warn("listing VMs to adopt", "err", err)
		return
	}
	for _, v := range vms {
		if v.State == stateStopped {
			continue
		}
		drv, err := s.driver(v.VMM)
		if err != nil {
			s.markStopped(ctx, &v, err.Error())
			continue
		}
		if v.State != stateRunning {
			s.adoptUnfinished(ctx, v, drv) // see recover.go
			continue
		}
		spec := s.runSpec(v)
		st, _ := drv.State(ctx, spec)
		if st == vmm.StatePaused {
			s.resumePaused(ctx, v, drv, spec)
		}
		if st != vmm.StateStopped {
			s.log.Info("adopted running VM", "vm", v.Name)
			s.reapplyPolicy(ctx, v)
			s.watch(v, drv, spec)
			continue
		}
		s.log.Info("VM found stopped", "vm", v.Name)
		s.markStopped(ctx, &v, "")
	}
	s.netMu.Lock()
	s.syncDNS(ctx) // names for the VMs that kept running
	s.netMu.Unlock()
}

// consoleTail returns the last n lines of the VM's console log, read
// from its end, at most consoleTailMax bytes.
func consoleTail(spec vmm.Spec, n int) string {
	b, err := consolelog.TailFile(filepath.Join(spec.RunDir, consolelog.Name), n, consoleTailMax)
	if err != nil {
		return "(no console log)"
	}
	return string(b)
}

// consoleTailMax bounds the console a message quotes.
const consoleTailMax = 16 << 10
