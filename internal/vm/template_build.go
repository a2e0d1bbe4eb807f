package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/atomicfile"
	"banger/internal/errdefs"
	"banger/internal/guestabi"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
)

// ensure returns the template for the combination, and its directory,
// making it when there is none: boot the image once without identity,
// network address or work disk, wait for the agent, save the state.
func (ts *templateStore) ensure(ctx context.Context, im store.Image, k store.Kernel, vcpu, memoryMiB int, vmmName string, prog progress.Func) (TemplateInfo, string, error) {
	drv, err := ts.layout.driver(vmmName)
	if err != nil {
		return TemplateInfo{}, "", err
	}
	snap, ok := drv.(vmm.Snapshotter)
	if !ok {
		return TemplateInfo{}, "", errdefs.FailedPrecondition("the %s driver cannot save VM state", vmmName)
	}
	key := templateKey(im, k, vcpu, memoryMiB, vmmName, accelFor(drv))
	b := &templateMaker{
		ts: ts, im: im, k: k, drv: drv, snap: snap, vmm: vmmName, key: key,
		dir:    filepath.Join(ts.dirs.TemplatesDir(), key),
		runDir: filepath.Join(ts.dirs.TemplateRunBase(), key),
	}
	b.spec = vmm.Spec{Name: "template-" + key[:8], VCPU: vcpu, MemoryMiB: memoryMiB, Kernel: k.Path, Initrd: k.InitrdPath,
		RunDir: b.runDir, AgentSocket: filepath.Join(b.runDir, paths.AgentSocketName)}
	if vmmName == "qemu" {
		// Firecracker's snapshots keep RAM in a file of their own already.
		b.spec.MemoryFile, b.spec.MemoryShared = filepath.Join(b.dir, templateMemory), true
	}
	defer ts.locks.Lock("template/" + key)()
	if t, ok := loadTemplate(b.dir); ok {
		return t, b.dir, nil
	}
	prog.Step(fmt.Sprintf("making a warm template of %s (%d vcpu, %d MiB), once", im.Name, vcpu, memoryMiB))
	if err := runSteps(ctx, ts.log, prog, b.steps(vmmName == "firecracker")); err != nil {
		return TemplateInfo{}, "", err
	}
	ts.log.Info("warm template saved", "image", im.Name, "key", key, "bytes", b.info.Bytes)
	return b.info, b.dir, nil
}

// templateMaker is one making of a warm template, which its steps share.
// The template is made in place (Firecracker's snapshot records the paths
// of the drives it was taken with); template.json, written last, marks it
// complete.
type templateMaker struct {
	ts      *templateStore
	im      store.Image
	k       store.Kernel
	drv     vmm.Driver
	snap    vmm.Snapshotter
	vmm     string // the driver's name
	key     string
	dir     string // the template's
	runDir  string // the template guest's
	spec    vmm.Spec
	root    vmdisk.Root
	accel   string
	release func() // removes the template guest's tap, if it has one
	info    TemplateInfo
}

// steps are the making of a template; a Firecracker guest gets a tap of
// its own (its NICs need one), and its clones another through the
// snapshot's network overrides.
func (b *templateMaker) steps(withTap bool) []step {
	steps := []step{b.disksStep(), b.recordStep()}
	if withTap {
		steps = append(steps, b.tapStep())
	}
	steps = append(steps, b.bootStep(), b.waitStep(), b.settleStep(), b.saveStep(), b.stopStep())
	if withTap {
		steps = append(steps, step{name: "removing the template guest's tap", do: func(context.Context) error {
			b.release()
			b.release = func() {} // done: a later failure has no tap to remove
			return nil
		}})
	}
	return append(steps, b.metaStep())
}

func (b *templateMaker) disksStep() step {
	return step{
		name: "making the template's disks",
		do: func(ctx context.Context) error {
			os.RemoveAll(b.dir)
			if err := os.MkdirAll(b.dir, 0o700); err != nil {
				return err
			}
			root, err := vmdisk.PrepareRoot(ctx, b.im.RootfsPath, b.dir)
			if err != nil {
				return err
			}
			placeholder := filepath.Join(b.dir, "work.placeholder")
			b.root = root
			b.spec.Cmdline = root.Cmdline() + " systemd.hostname=" + templateHostname + " " + guestabi.TemplateParam
			b.spec.Disks = append(root.Disks(), vmm.Disk{ID: "work", Path: placeholder})
			b.spec.NICs = []vmm.NIC{{ID: "net0", MAC: templateMAC}}
			return makeSparse(placeholder, templateWorkSize)
		},
		undo: func(context.Context) { os.RemoveAll(b.dir) },
	}
}

// recordStep records the build before anything runs, for a daemon started
// after a crash to undo (see sweepBuilds); the record goes with the
// guest's run dir once the template is made or undone.
func (b *templateMaker) recordStep() step {
	return step{
		name: "recording the template build",
		do: func(context.Context) error {
			os.RemoveAll(b.runDir)
			if err := os.MkdirAll(b.runDir, 0o700); err != nil {
				return err
			}
			build := templateBuild{VMM: b.vmm, Dir: b.dir}
			if b.vmm == "firecracker" {
				build.Tap = templateTapName(b.key)
			}
			return recordTemplateBuild(b.runDir, build)
		},
		undo: func(context.Context) { os.RemoveAll(b.runDir) },
	}
}

func (b *templateMaker) tapStep() step {
	return step{
		name: "making the template guest's tap",
		do: func(ctx context.Context) error {
			tap := templateTapName(b.key)
			release, err := b.ts.net.templateTap(ctx, tap)
			if err != nil {
				return err
			}
			b.release, b.spec.NICs[0].Tap = release, tap
			return nil
		},
		undo: func(context.Context) { b.release() },
	}
}

func (b *templateMaker) bootStep() step {
	return step{
		name: "booting the template guest",
		do: func(ctx context.Context) error {
			info, err := b.drv.Start(ctx, b.spec)
			b.accel = info.Accelerator
			return err
		},
		undo: func(ctx context.Context) { b.drv.Kill(ctx, b.spec) },
	}
}

func (b *templateMaker) waitStep() step {
	return step{
		name: "waiting for the template guest",
		do: func(ctx context.Context) error {
			if _, err := waitReady(ctx, b.drv, b.spec); err != nil {
				return fmt.Errorf("the template guest did not get ready: %w", err)
			}
			return nil
		},
	}
}

func (b *templateMaker) settleStep() step {
	return step{
		name: "letting the template guest finish booting",
		say:  says("letting the template guest finish booting"),
		do: func(ctx context.Context) error {
			settleGuest(ctx, b.ts.log, b.drv, b.spec)
			return nil
		},
	}
}

func (b *templateMaker) saveStep() step {
	return step{
		name: "saving the template's state",
		do: func(ctx context.Context) error {
			return b.snap.SaveState(ctx, b.spec, filepath.Join(b.dir, templateState))
		},
	}
}

func (b *templateMaker) stopStep() step {
	return step{
		name: "stopping the template guest",
		do:   func(ctx context.Context) error { return b.drv.Kill(ctx, b.spec) },
	}
}

// metaStep writes template.json, which makes the template complete, and
// removes the build's record.
func (b *templateMaker) metaStep() step {
	return step{
		name: "recording the template",
		do: func(ctx context.Context) error {
			b.info = TemplateInfo{
				Format: templateFormat, Key: b.key, Image: b.im.Name, Kernel: b.k.Name,
				VCPU: b.spec.VCPU, MemoryMiB: b.spec.MemoryMiB, VMM: b.vmm, Accel: b.accel,
				RootMode: string(b.root.Mode), Cmdline: b.spec.Cmdline, Created: time.Now().UTC(),
				Bytes: diskUsage(b.dir),
			}
			if b.spec.MemoryFile != "" {
				b.info.Memory = templateMemory
			}
			data, _ := json.MarshalIndent(b.info, "", "  ")
			if err := atomicfile.WriteFile(filepath.Join(b.dir, templateMeta), data, 0o600); err != nil {
				return err
			}
			os.RemoveAll(b.runDir)
			return nil
		},
	}
}

// settleWait bounds waiting for a template guest's boot to finish.
const settleWait = 3 * time.Minute

// settleCommands are what settleGuest runs in the template guest, one
// after the other. The service manager reports the boot finished while
// udev still works through the devices found at boot (loading a module
// for each CPU feature, with the crypto self-tests they bring: seconds
// under emulation), so udev's queue is waited for too.
var settleCommands = [][]string{
	{"systemctl", "is-system-running", "--wait"},
	{"udevadm", "settle", "--timeout=120"},
}

// settleGuest waits, within settleWait, until the template guest's service
// manager has finished booting (services started or failed) and udev has
// handled every device, so that it is saved idle: a guest saved as soon
// as its agent answers would have every clone finish the boot again, each
// with its own CPU, while it takes its identity. A guest without systemd
// or udev, or one that does not settle, is saved as it is.
func settleGuest(ctx context.Context, log *slog.Logger, drv vmm.Driver, spec vmm.Spec) {
	ctx, cancel := context.WithTimeout(ctx, settleWait)
	defer cancel()
	began := time.Now()
	err := runSettled(ctx, drv, spec)
	log.Info("template guest settled", "vm", spec.Name, "waited", time.Since(began).Round(time.Millisecond), "err", err)
}

// runSettled runs settleCommands in the guest, each to its end, and
// returns the failures to run them, joined.
func runSettled(ctx context.Context, drv vmm.Driver, spec vmm.Spec) error {
	c, err := agentclient.Dial(ctx, agentEndpoint(drv, spec))
	if err != nil {
		return err
	}
	mux, err := agentclient.Upgrade(ctx, c)
	if err != nil {
		c.Close()
		return err
	}
	defer mux.Close()
	var errs []error
	for _, argv := range settleCommands {
		errs = append(errs, runToEnd(ctx, mux, argv))
	}
	return errors.Join(errs...)
}

// runToEnd runs argv in the guest and waits for it to end, whatever its
// status.
func runToEnd(ctx context.Context, mux *agentclient.Mux, argv []string) error {
	ch, err := mux.Exec(ctx, agentproto.ExecSpec{Argv: argv, Dir: "/"})
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	for {
		ev, err := ch.Next(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", argv[0], err)
		}
		if ev.Exit != nil || ev.End {
			return nil
		}
	}
}

// makeSparse makes a file of size that takes no space.
func makeSparse(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// blocksOf is the space a file takes, holes left out.
func blocksOf(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// diskUsage is the space the files under dir take, holes left out.
func diskUsage(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += blocksOf(fi)
			}
		}
		return nil
	})
	return n
}
