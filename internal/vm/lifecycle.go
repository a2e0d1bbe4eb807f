package vm

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
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
	"banger/internal/vmm/consolelog"
	"banger/internal/vmname"
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

// sshKeyPath is ssh_key_path, or banger's own key under the config dir.
func (m *Manager) sshKeyPath() string {
	if p := m.config().SSHKeyPath; p != "" {
		if rest, ok := strings.CutPrefix(p, "~/"); ok {
			if home, err := os.UserHomeDir(); err == nil {
				return filepath.Join(home, rest)
			}
		}
		return p
	}
	return m.dirs.SSHKey()
}

func newVID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Create makes a VM and boots it: the named steps are resolving the
// image and kernel (pulling them when missing), recording the VM,
// preparing its disks, then booting (see boot). A failure before the guest
// runs undoes everything; a guest that boots but never reports ready is
// kept, so its console log can be read.
func (m *Manager) Create(ctx context.Context, req api.CreateVMRequest, prog progress.Func) (store.VM, error) {
	if req.Name == "" {
		req.Name = vmname.Generate(func(n string) bool { _, err := m.store.GetVM(ctx, n); return err == nil })
	}
	if err := vmname.Validate(req.Name); err != nil {
		return store.VM{}, err
	}
	netPolicy, err := m.newVMNetwork(req.Network)
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
	if _, err := guestssh.EnsureKey(m.sshKeyPath()); err != nil {
		return store.VM{}, err
	}
	defer m.lockVM(req.Name)()
	if _, err := m.store.GetVM(ctx, req.Name); err == nil {
		return store.VM{}, errdefs.AlreadyExists("a VM named %s already exists: pick another --name, or remove it with `banger vm delete %s`", req.Name, req.Name)
	}
	if req.FromSnapshot != "" {
		return m.createFromSnapshot(ctx, store.VM{Name: req.Name, VID: newVID(), Network: netPolicy}, req.FromSnapshot, prog)
	}
	vmmName, err := m.pickVMM()
	if err != nil {
		return store.VM{}, err
	}
	im, k, err := m.lib.Resolve(ctx, req.Image, req.Kernel, prog)
	if err != nil {
		return store.VM{}, err
	}
	trees, err := workspaceTrees(ctx, req.Workspace, prog)
	if err != nil {
		return store.VM{}, err
	}
	v := store.VM{
		Name: req.Name, State: StateCreating, Image: im.Name, Kernel: k.Name, VMM: vmmName,
		VCPU: req.VCPU, MemoryMiB: req.MemoryMiB, DiskBytes: req.DiskBytes, VID: newVID(),
		Network: netPolicy,
	}
	if err := m.store.CreateVM(ctx, v); err != nil {
		return store.VM{}, err
	}
	kept := false
	defer func() {
		if !kept {
			if err := m.destroyVM(context.WithoutCancel(ctx), v); err != nil {
				m.log.Warn("undoing a failed create", "vm", v.Name, "err", err)
			}
		}
	}()
	if !req.Cold {
		warm, err := m.warmStart(ctx, &v, im, k, trees, prog)
		if err != nil {
			return store.VM{}, err
		}
		if warm {
			kept = true
			return v, nil
		}
	}
	if err := m.prepareDisks(ctx, &v, im, trees, prog); err != nil {
		return store.VM{}, fmt.Errorf("preparing disks: %w", err)
	}
	err = m.boot(ctx, &v, im, k, prog)
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

// prepareDisks derives the VM's root from its image and builds its work
// disk with the user's public key, the file_sync entries and trees (a
// workspace copy).
func (m *Manager) prepareDisks(ctx context.Context, v *store.VM, im store.Image, trees []vmdisk.Tree, prog progress.Func) error {
	prog.Step("preparing disks")
	dir := m.vmDir(v.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	root, err := vmdisk.PrepareRoot(ctx, im.RootfsPath, dir)
	if err != nil {
		return err
	}
	v.RootMode = string(root.Mode)
	if err := m.prepareWork(ctx, v, trees, prog); err != nil {
		return err
	}
	return m.store.UpdateVM(ctx, *v)
}

// prepareWork builds the VM's work disk, unless it has one.
func (m *Manager) prepareWork(ctx context.Context, v *store.VM, trees []vmdisk.Tree, prog progress.Func) error {
	dir := m.vmDir(v.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(workDisk(dir)); err == nil {
		return nil
	}
	pub, err := guestssh.EnsureKey(m.sshKeyPath())
	if err != nil {
		return err
	}
	home, _ := os.UserHomeDir()
	return vmdisk.BuildWork(ctx, vmdisk.WorkOptions{
		Path: workDisk(dir), Size: v.DiskBytes, AuthorizedKeys: pub,
		FileSync: m.config().FileSync, HostHome: home, Trees: trees, Progress: prog,
	})
}

// warmStart restores v from its combination's warm template, making the
// template first when there is none. It reports false, having said why
// in one line, when the VM should boot cold instead: a driver without
// saved state, or a template that cannot be made or restored (which is
// then removed, to be made again next time).
func (m *Manager) warmStart(ctx context.Context, v *store.VM, im store.Image, k store.Kernel, trees []vmdisk.Tree, prog progress.Func) (bool, error) {
	drv, err := m.driver(v.VMM)
	if err != nil {
		return false, err
	}
	if _, ok := drv.(vmm.Snapshotter); !ok {
		return false, nil
	}
	t, dir, err := m.ensureTemplate(ctx, im, k, v.VCPU, v.MemoryMiB, v.VMM, prog)
	if err == nil {
		if err = m.prepareWork(ctx, v, trees, prog); err != nil {
			return false, fmt.Errorf("preparing disks: %w", err)
		}
		err = m.restoreVM(ctx, v, im, k, t, dir, prog)
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
	m.log.Warn("warm start failed; booting cold", "vm", v.Name, "err", err)
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
func (m *Manager) boot(ctx context.Context, v *store.VM, im store.Image, k store.Kernel, prog progress.Func) error {
	drv, err := m.driver(v.VMM)
	if err != nil {
		return err
	}
	prog.Step("attaching to the bridge")
	spec, err := m.prepareLaunch(ctx, v, im, k, false)
	if err != nil {
		return err
	}
	prog.Step("booting on " + v.VMM)
	info, err := drv.Start(ctx, spec)
	if err != nil {
		m.releaseNetwork(context.WithoutCancel(ctx), v)
		return err
	}
	if err := saveMachine(spec); err != nil {
		m.log.Warn("recording the VM's machine; a snapshot of it will assume a cold boot's", "vm", v.Name, "err", err)
	}
	v.Accel, v.State, v.LastError = info.Accelerator, unfinishedState(v.State), ""
	if err := m.store.UpdateVM(ctx, *v); err != nil {
		return err
	}
	m.watch(*v, drv, spec)
	prog.Step(fmt.Sprintf("waiting for the guest (%s)", info.Accelerator))
	status, err := m.waitReady(ctx, drv, spec)
	if err == nil && len(status.HostKeys) > 0 {
		err = guestssh.WriteKnownHosts(m.knownHosts(v.Name), v.Name, status.HostKeys)
	} else if err == nil && status.SSH {
		err = errors.New("the guest runs sshd but reported no host keys")
	}
	if err == nil && status.SSH {
		err = m.waitGuestSSH(ctx, *v)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		v.State, v.LastError = StateRunning, err.Error()
		_ = m.store.UpdateVM(context.WithoutCancel(ctx), *v)
		return notReadyError{errdefs.Unavailable("VM %s is running but its guest did not get ready: %v. It is kept so you can look: `banger vm logs %s`, then `banger vm delete --force %s`", v.Name, err, v.Name, v.Name)}
	}
	v.State = StateRunning
	return m.store.UpdateVM(ctx, *v)
}

// waitReady waits for the guest agent to report ready, giving up early
// when the VMM exits.
func (m *Manager) waitReady(ctx context.Context, drv vmm.Driver, spec vmm.Spec) (agentproto.Status, error) {
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
func (m *Manager) prepareLaunch(ctx context.Context, v *store.VM, im store.Image, k store.Kernel, unplugged bool) (vmm.Spec, error) {
	if err := m.attachNetwork(ctx, v, unplugged); err != nil {
		return vmm.Spec{}, fmt.Errorf("setting up the network: %w", err)
	}
	spec, err := m.vmSpec(*v, k, m.rootOf(*v, im))
	if err == nil {
		err = os.MkdirAll(spec.RunDir, 0o700)
	}
	if err != nil {
		m.releaseNetwork(context.WithoutCancel(ctx), v)
		return vmm.Spec{}, err
	}
	return spec, nil
}

// attachNetwork gives v a free guest address, a MAC and a tap on the
// bridge, creating the bridge when it is the first VM to need it. An
// unplugged tap stays off the bridge until plugTap.
func (m *Manager) attachNetwork(ctx context.Context, v *store.VM, unplugged bool) error {
	nc, err := m.netConfig()
	if err != nil {
		return err
	}
	m.netMu.Lock()
	defer m.netMu.Unlock()
	vms, err := m.store.ListVMs(ctx)
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
	if err := m.store.UpdateVM(ctx, *v); err != nil {
		return err
	}
	if err := m.net.EnsureBridge(ctx, nc); err != nil {
		return err
	}
	ensure := m.net.EnsureTap
	if unplugged {
		ensure = m.net.EnsureUnpluggedTap
	}
	if err := ensure(ctx, nc, v.Tap, os.Getuid()); err != nil {
		return err
	}
	if err := m.applyPolicy(ctx, nc, *v); err != nil {
		return err
	}
	m.syncDNS(ctx)
	return nil
}

// plugTap puts v's tap, attached unplugged, on the bridge.
func (m *Manager) plugTap(ctx context.Context, v store.VM) error {
	nc, err := m.netConfig()
	if err != nil {
		return err
	}
	m.netMu.Lock()
	defer m.netMu.Unlock()
	return m.net.EnsureTap(ctx, nc, v.Tap, os.Getuid())
}

// releaseNetwork frees v's tap and address, and removes the bridge and
// NAT rules when no VM needs them any more.
func (m *Manager) releaseNetwork(ctx context.Context, v *store.VM) {
	m.netMu.Lock()
	defer m.netMu.Unlock()
	if v.Tap != "" {
		if err := m.net.DeleteTap(ctx, v.Tap); err != nil {
			m.log.Warn("removing tap", "vm", v.Name, "tap", v.Tap, "err", err)
		}
	}
	v.IP, v.Tap = "", ""
	if err := m.store.UpdateVM(ctx, *v); err != nil && errdefs.KindOf(err) != errdefs.KindNotFound {
		m.log.Warn("recording a released address", "vm", v.Name, "err", err)
	}
	m.syncDNS(ctx)
	vms, err := m.store.ListVMs(ctx)
	if err != nil {
		return
	}
	for _, o := range vms {
		if o.Tap != "" && o.Name != v.Name {
			return
		}
	}
	if m.templateTapsInUse("") {
		return
	}
	nc, err := m.netConfig()
	if err != nil {
		return
	}
	if err := m.net.Teardown(ctx, nc); err != nil {
		m.log.Warn("removing the bridge", "err", err)
	}
}

// markStopped records that v's VMM is gone and frees what it held.
func (m *Manager) markStopped(ctx context.Context, v *store.VM, reason string) {
	v.State, v.Accel = StateStopped, ""
	if reason != "" {
		v.LastError = reason
	}
	m.releaseNetwork(ctx, v)
}

// runSpec is the part of a VM's spec that finding, stopping and killing
// its VMM needs; it does not need the image or kernel to still exist.
func (m *Manager) runSpec(v store.VM) vmm.Spec {
	dir := m.vmRunDir(v)
	return vmm.Spec{Name: v.Name, RunDir: dir, AgentSocket: filepath.Join(dir, paths.AgentSocketName)}
}

// Start boots a stopped VM again.
func (m *Manager) Start(ctx context.Context, name string, prog progress.Func) (store.VM, error) {
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	if v.State != StateStopped {
		drv, err := m.driver(v.VMM)
		if err == nil {
			if st, _ := drv.State(ctx, m.runSpec(v)); st != vmm.StateStopped {
				prog.Note("vm", "VM "+name+" is already running")
				return v, nil
			}
		}
	}
	im, err := m.store.GetImage(ctx, v.Image)
	if err != nil {
		return v, errdefs.FailedPrecondition("VM %s cannot start: its image %s is gone (%v)", name, v.Image, err)
	}
	k, err := m.store.GetKernel(ctx, v.Kernel)
	if err != nil {
		return v, errdefs.FailedPrecondition("VM %s cannot start: its kernel %s is gone (%v)", name, v.Kernel, err)
	}
	err = m.boot(ctx, &v, im, k, prog)
	if err != nil && !errors.Is(err, errNotReady) {
		m.unwatch(name)
		if drv, derr := m.driver(v.VMM); derr == nil {
			_ = drv.Kill(context.WithoutCancel(ctx), m.runSpec(v))
		}
		m.markStopped(context.WithoutCancel(ctx), &v, err.Error())
	}
	return v, err
}

// Stop powers a VM off, killing it after stopGrace.
func (m *Manager) Stop(ctx context.Context, name string) (store.VM, error) {
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	return v, m.stopLocked(ctx, &v)
}

func (m *Manager) stopLocked(ctx context.Context, v *store.VM) error {
	m.unwatch(v.Name)
	drv, err := m.driver(v.VMM)
	if err != nil {
		return err
	}
	spec := m.runSpec(*v)
	m.poweroffThroughAgent(ctx, v.Name, drv, spec)
	if err := drv.Stop(ctx, spec, stopGrace); err != nil {
		return err
	}
	m.markStopped(ctx, v, "")
	v.LastError = ""
	return m.store.UpdateVM(ctx, *v)
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

// Delete removes VMs; running ones only with force.
func (m *Manager) Delete(ctx context.Context, name string, force bool) error {
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return err
	}
	if v.State != StateStopped && !force {
		if drv, err := m.driver(v.VMM); err == nil {
			if st, _ := drv.State(ctx, m.runSpec(v)); st != vmm.StateStopped {
				return errdefs.FailedPrecondition("VM %s is running: stop it first (`banger vm stop %s`) or delete it with --force", name, name)
			}
		}
	}
	return m.destroyVM(ctx, v)
}

// destroyVM kills v's VMM if it runs and removes everything it had.
func (m *Manager) destroyVM(ctx context.Context, v store.VM) error {
	m.unwatch(v.Name)
	if drv, err := m.driver(v.VMM); err == nil {
		if err := drv.Kill(ctx, m.runSpec(v)); err != nil {
			return fmt.Errorf("deleting VM %s: %w", v.Name, err)
		}
	}
	m.releaseNetwork(ctx, &v)
	var errs []error
	for _, dir := range []string{m.vmDir(v.Name), m.vmRunDir(v)} {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.store.DeleteVM(ctx, v.Name); err != nil && errdefs.KindOf(err) != errdefs.KindNotFound {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// watch keeps v's console log within console_log_max while its VMM runs,
// and marks v stopped as soon as its VMM exits on its own (a guest
// poweroff, a crash, kill -9), unless stop or delete took over first.
func (m *Manager) watch(v store.VM, drv vmm.Driver, spec vmm.Spec) {
	ctx, cancel := context.WithCancel(m.base)
	m.watchers.set(v.Name, cancel)
	go consolelog.Watch(ctx, filepath.Join(spec.RunDir, consolelog.Name), m.consoleLogLimit, m.log.With("vm", v.Name))
	go func() {
		err := drv.Wait(ctx, spec)
		if ctx.Err() != nil || err != nil {
			return
		}
		defer m.lockVM(v.Name)()
		if ctx.Err() != nil {
			return
		}
		cur, err := m.store.GetVM(ctx, v.Name)
		if err != nil || cur.VID != v.VID || cur.State == StateStopped {
			return
		}
		m.log.Info("VM exited", "vm", v.Name)
		m.markStopped(ctx, &cur, "")
		m.unwatch(v.Name)
	}()
}

func (m *Manager) unwatch(name string) { m.watchers.stop(name) }

// Adopt runs at start-up: VMMs outlive the daemon, so VMs whose VMM still
// runs are watched again and the rest are marked stopped, freeing their
// taps and addresses.
func (m *Manager) Adopt(ctx context.Context) {
	vms, err := m.store.ListVMs(ctx)
	if err != nil {
		m.log.Warn("listing VMs to adopt", "err", err)
		return
	}
	for _, v := range vms {
		if v.State == StateStopped {
			continue
		}
		drv, err := m.driver(v.VMM)
		if err != nil {
			m.markStopped(ctx, &v, err.Error())
			continue
		}
		if v.State != StateRunning {
			m.adoptUnfinished(ctx, v, drv) // see recover.go
			continue
		}
		spec := m.runSpec(v)
		st, _ := drv.State(ctx, spec)
		if st == vmm.StatePaused {
			m.resumePaused(ctx, v, drv, spec)
		}
		if st != vmm.StateStopped {
			m.log.Info("adopted running VM", "vm", v.Name)
			m.reapplyPolicy(ctx, v)
			m.watch(v, drv, spec)
			continue
		}
		m.log.Info("VM found stopped", "vm", v.Name)
		m.markStopped(ctx, &v, "")
	}
	m.netMu.Lock()
	m.syncDNS(ctx) // names for the VMs that kept running
	m.netMu.Unlock()
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

// consoleLogLimit is the size at which console logs rotate, from the
// config as it is now.
func (m *Manager) consoleLogLimit() int64 { return int64(m.config().ConsoleLogLimit()) }
