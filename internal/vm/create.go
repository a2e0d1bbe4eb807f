package vm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"banger/internal/api"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/guestssh"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
	"banger/internal/vmname"
)

func newVID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Create makes a VM and boots it. Its steps are listing the workspace,
// resolving the image and kernel (pulling them when missing), recording
// the VM, then starting it: restored from its combination's warm template
// when the driver can (falling back to the cold steps when that fails),
// else the cold steps, preparing its disks and booting (see bootSteps). A
// VM made from a snapshot has steps of its own (see snapshotRestoreSteps).
// A failure undoes the steps done; a guest that boots but never reports
// ready is kept, so its console log can be read.
func (m *Manager) Create(ctx context.Context, req api.CreateVMRequest, prog progress.Func) (store.VM, error) {
	c := &creation{m: m, req: req, prog: prog}
	netPolicy, err := c.check(ctx)
	if err != nil {
		return store.VM{}, err
	}
	ports, err := checkCreatePorts(c.req, netPolicy)
	if err != nil {
		return store.VM{}, err
	}
	name := c.req.Name
	defer m.lockVM(name)()
	if _, err := m.store.GetVM(ctx, name); err == nil {
		return store.VM{}, errdefs.AlreadyExists("a VM named %s already exists: pick another --name, or remove it with `banger vm delete %s`", name, name)
	}
	c.v = &store.VM{Name: name, VID: newVID(), Network: netPolicy, Ports: ports, Labels: req.Labels, ExpiresAt: req.ExpiresAt}
	var steps []step
	if req.FromSnapshot != "" {
		steps, err = m.snapshotRestoreSteps(ctx, c.v, req.FromSnapshot, prog)
	} else {
		steps, err = c.steps()
	}
	if err == nil {
		err = runSteps(ctx, m.log, prog, append(steps, m.ports.step(c.v)))
		if err != nil && req.FromSnapshot != "" {
			err = fmt.Errorf("restoring snapshot %s: %w", req.FromSnapshot, err)
		}
	}
	if err != nil && !errors.Is(err, errNotReady) {
		return store.VM{}, err
	}
	if !c.v.ExpiresAt.IsZero() {
		m.reaper.poke()
	}
	return *c.v, err
}

// check checks a create request before anything is made, naming the VM
// when it has no name, and returns its network policy.
func (c *creation) check(ctx context.Context) (string, error) {
	m, req := c.m, &c.req
	if req.Name == "" {
		req.Name = vmname.Generate(func(n string) bool { _, err := m.store.GetVM(ctx, n); return err == nil })
	}
	if err := vmname.Validate(req.Name); err != nil {
		return "", err
	}
	if err := checkLabelsAndExpiry(*req, time.Now()); err != nil {
		return "", err
	}
	netPolicy, err := newVMNetwork(m.layout.config(), req.Network)
	if err != nil {
		return "", err
	}
	if req.FromSnapshot != "" {
		// The snapshot says what the VM is; only its name, network
		// policy, labels and expiry are the caller's.
		if req.Image != "" || req.Kernel != "" || req.VCPU != 0 || req.MemoryMiB != 0 || req.DiskBytes != 0 || req.Cold || req.Workspace != nil {
			return "", errdefs.InvalidArgument("a VM made from a snapshot has the snapshot's image, kernel, size and disks: give it only a name")
		}
	} else if err := checkSize(m.dirs.State, *req); err != nil {
		return "", err
	}
	// The key is checked first: a key ssh would refuse should not cost an
	// image pull and a boot to find out.
	if _, err := guestssh.EnsureKey(m.layout.sshKeyPath()); err != nil {
		return "", err
	}
	return netPolicy, nil
}

// checkSize refuses sizes that are not positive or that this host cannot
// give.
func checkSize(stateDir string, req api.CreateVMRequest) error {
	if req.VCPU < 1 || req.MemoryMiB < 1 || req.DiskBytes < 1 {
		return errdefs.InvalidArgument("vcpu, memory_mib and disk_bytes must be positive")
	}
	if err := checkHostFits(config.DetectHost(), req.VCPU, req.MemoryMiB); err != nil {
		return err
	}
	return checkDiskFits(stateDir, req.DiskBytes)
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

// creation is one create of a VM from an image, which its steps share.
type creation struct {
	m     *Manager
	req   api.CreateVMRequest
	v     *store.VM
	l     *launch
	trees []vmdisk.Tree
	prog  progress.Func
}

// steps are the steps of a create from an image: the warm ones, or the
// cold ones when the driver saves no state or the request says cold.
func (c *creation) steps() ([]step, error) {
	m, v, req := c.m, c.v, c.req
	vmmName, err := m.layout.pickVMM()
	if err != nil {
		return nil, err
	}
	*v = store.VM{
		Name: v.Name, State: StateCreating, VMM: vmmName, VCPU: req.VCPU, MemoryMiB: req.MemoryMiB,
		DiskBytes: req.DiskBytes, VID: v.VID, Network: v.Network, Ports: v.Ports, Labels: v.Labels, ExpiresAt: v.ExpiresAt,
	}
	l, err := m.newLaunch(v, store.Image{}, store.Kernel{})
	if err != nil {
		return nil, err
	}
	c.l = l
	// The workspace is checked first: a wrong path should not wait for an
	// image pull.
	steps := []step{c.workspaceStep(), c.resolveStep(), recordStep(m, v)}
	cold := append([]step{c.disksStep()}, l.bootSteps()...)
	if _, ok := l.drv.(vmm.Snapshotter); !ok || req.Cold {
		return append(steps, cold...), nil
	}
	w := &warmStart{c: c, r: restoreFrom{noSSHWait: req.AgentExec}}
	return append(steps, either("starting from the warm template", m.log, c.prog, w.steps(), cold, w.fallCold)), nil
}

func (c *creation) resolveStep() step {
	return step{
		name: "resolving the image and kernel",
		do: func(ctx context.Context) error {
			im, k, err := c.m.lib.Resolve(ctx, c.req.Image, c.req.Kernel, c.prog)
			c.l.im, c.l.k, c.v.Image, c.v.Kernel = im, k, im.Name, k.Name
			return err
		},
	}
}

func (c *creation) workspaceStep() step {
	return step{
		name: "listing the workspace",
		do: func(ctx context.Context) (err error) {
			c.trees, c.v.Workspace, err = workspaceTrees(ctx, c.req.Workspace, c.prog)
			return err
		},
	}
}

// recordStep records v, being created; undone, the VM and all it has go.
func recordStep(m *Manager, v *store.VM) step {
	return step{
		name: "recording the VM",
		do:   func(ctx context.Context) error { return m.store.CreateVM(ctx, *v) },
		undo: func(ctx context.Context) {
			if err := m.destroyVM(ctx, *v); err != nil {
				m.log.Warn("undoing a failed create", "vm", v.Name, "err", err)
			}
		},
	}
}

// disksStep derives the VM's root from its image and builds its work
// disk, unless a warm start made it already.
func (c *creation) disksStep() step {
	return step{
		name: "preparing disks",
		say:  says("preparing disks"),
		do: func(ctx context.Context) error {
			dir := c.m.layout.vmDir(c.v.Name)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			root, err := vmdisk.PrepareRoot(ctx, c.l.im.RootfsPath, dir)
			if err != nil {
				return err
			}
			c.v.RootMode = string(root.Mode)
			return c.prepareWork(ctx)
		},
		undo: func(context.Context) { os.RemoveAll(c.m.layout.vmDir(c.v.Name)) },
	}
}

// prepareWork builds the VM's work disk with the user's public key, the
// file_sync entries and the workspace, unless it has one.
func (c *creation) prepareWork(ctx context.Context) error {
	dir := c.m.layout.vmDir(c.v.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(workDisk(dir)); err == nil {
		return nil
	}
	pub, err := guestssh.EnsureKey(c.m.layout.sshKeyPath())
	if err != nil {
		return err
	}
	home, _ := os.UserHomeDir()
	return vmdisk.BuildWork(ctx, vmdisk.WorkOptions{
		Path: workDisk(dir), Size: c.v.DiskBytes, AuthorizedKeys: pub,
		FileSync: c.m.layout.config().FileSync, HostHome: home, Trees: c.trees, Progress: c.prog,
	})
}

// warmStart restores a new VM from its combination's warm template,
// making the template first when there is none.
type warmStart struct {
	c   *creation
	t   TemplateInfo
	dir string      // the template's, once found or made
	r   restoreFrom // filled in as the template is found and copied
}

// errNoColdBoot marks a warm start's failure that a cold boot would
// meet too.
var errNoColdBoot = errors.New("a cold boot would fail too")

type coldFailsToo struct{ error }

func (e coldFailsToo) Unwrap() []error { return []error{e.error, errNoColdBoot} }

func (w *warmStart) steps() []step {
	c := w.c
	return append([]step{
		{name: "making a warm template", do: func(ctx context.Context) (err error) {
			w.t, w.dir, err = c.m.templates.ensure(ctx, c.l.im, c.l.k, c.v.VCPU, c.v.MemoryMiB, c.v.VMM, c.prog)
			// The machine must be the template's: its command line and
			// device MAC.
			w.r.machine = vmm.Spec{Cmdline: w.t.Cmdline, NICs: []vmm.NIC{{MAC: templateMAC}}}
			w.r.state = filepath.Join(w.dir, templateState)
			if w.t.Memory != "" {
				w.r.memoryFile = filepath.Join(w.dir, w.t.Memory)
			}
			return err
		}},
		w.disksStep(),
	}, c.l.restoreSteps(&w.r)...)
}

// disksStep builds the VM's work disk and copies the template's root
// disk as the VM's, at once: neither needs the other. A work disk that
// cannot be built fails the create (a cold boot needs it too).
func (w *warmStart) disksStep() step {
	c := w.c
	rootFile := func() string { return filepath.Join(c.m.layout.vmDir(c.v.Name), templateRootName(w.t.RootMode)) }
	return step{
		name: "restoring from the warm template",
		say:  says("restoring from the warm template"),
		do: func(ctx context.Context) error {
			c.v.RootMode = w.t.RootMode
			w.r.workDevice = c.m.layout.rootOf(*c.v, c.l.im).WorkDevice()
			if err := os.MkdirAll(c.m.layout.vmDir(c.v.Name), 0o700); err != nil {
				return err
			}
			work := make(chan error, 1)
			go func() { work <- c.prepareWork(ctx) }()
			err := vmdisk.CopyDisk(ctx, filepath.Join(w.dir, templateRootName(w.t.RootMode)), rootFile())
			if werr := <-work; werr != nil {
				return &stepError{step: "preparing disks", err: coldFailsToo{werr}}
			}
			return err
		},
		undo: func(context.Context) { os.Remove(rootFile()) }, // the cold boot makes a fresh one
	}
}

// fallCold decides, the warm start having failed and been undone,
// whether the VM boots cold instead: unless the create was cancelled, or
// a cold boot would fail the same way. A template that could not be
// restored is removed, to be made again next time.
func (w *warmStart) fallCold(ctx context.Context, err error) bool {
	if w.dir != "" && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, errNoColdBoot) {
		os.RemoveAll(w.dir) // damaged or unusable: made again next time
	}
	if ctx.Err() != nil || errors.Is(err, errNoColdBoot) {
		return false
	}
	w.c.m.log.Warn("warm start failed; booting cold", "vm", w.c.v.Name, "err", err)
	w.c.prog.Note("warm start", fmt.Sprintf("warning: warm start failed, booting cold: %v", err))
	return true
}
