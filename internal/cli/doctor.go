package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/spf13/cobra"

	"banger/internal/api/client"
	"banger/internal/daemonctl"
	"banger/internal/doctor"
)

// DoctorOptions are the inputs of `banger doctor`.
type DoctorOptions struct {
	JSON   bool
	Stdout io.Writer
}

func newDoctorCmd(a *app) *cobra.Command {
	opts := DoctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this host can run banger VMs",
		Long: `Check this host for what banger needs: KVM and which kind it is, Firecracker
or QEMU, the image-building tools, privileges, free disk space, the daemon
(and its web UI, when configured), the config file, the VM sizes banger will use by default
(with where each value comes from), and, when a VM is running, whether its
name NAME.vm resolves on this host (see docs/dns-routing.md).

Each check prints ok, warn or FAIL, and a one-line fix for anything that is
not ok. A warning is something that works, only worse: without KVM, QEMU
runs guests under emulation, roughly 10x slower. The exit status is 1 when
any check fails.`,
		Example: `  banger doctor
  banger doctor --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Stdout = a.stdout
			return a.doctor(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func (a *app) doctor(ctx context.Context, opts DoctorOptions) error {
	if a.dirsErr != nil {
		return a.dirsErr
	}
	checks := append([]doctor.Check{a.configCheck()}, doctor.Checks(a.doctorOptions())...)
	results := doctor.Run(ctx, checks)
	var err error
	if opts.JSON {
		err = writeJSON(opts.Stdout, results)
	} else {
		err = doctor.Write(opts.Stdout, results)
	}
	if err != nil {
		return err
	}
	if doctor.Failed(results) {
		return &ExitError{Code: 1}
	}
	return nil
}

func (a *app) doctorOptions() doctor.Options {
	d := a.vmDefaults()
	cfg, _ := a.config() // the config check reports its error
	return doctor.Options{
		VMM:            string(cfg.VMM),
		FirecrackerBin: cfg.FirecrackerBin,
		StateDir:       a.dirs.State,
		ConfigPath:     a.dirs.ConfigFile(),
		Keyring:        cfg.DebianKeyring,
		KVMDevice:      os.Getenv(doctor.KVMDeviceEnv),
		Defaults: []doctor.DefaultField{
			{Name: "vcpu", Value: fmt.Sprint(d.VCPU.V), Provenance: string(d.VCPU.From)},
			{Name: "memory_mib", Value: fmt.Sprint(d.MemoryMiB.V), Provenance: string(d.MemoryMiB.From)},
			{Name: "disk_size", Value: d.DiskSize.V.String(), Provenance: string(d.DiskSize.From)},
		},
		Daemon: func(ctx context.Context) (doctor.DaemonStatus, error) {
			info, err := a.ctl.Info(ctx)
			if errors.Is(err, client.ErrNotRunning) {
				return doctor.DaemonStatus{Socket: a.dirs.Socket()}, nil
			}
			if err != nil {
				return doctor.DaemonStatus{}, err
			}
			return doctor.DaemonStatus{Running: true, Version: info.Version, PID: info.PID, Socket: info.Socket, WebError: info.WebError}, nil
		},
		DaemonBin: daemonctl.BinaryPath,
		VMNames:   a.vmNamesProbe(cfg.BridgeSubnet),
	}
}

// vmNamesProbe finds a running VM for the "vm names" check, from a daemon
// that is already running, and bangerd's DNS address from the config's
// bridge subnet.
func (a *app) vmNamesProbe(subnet string) doctor.VMNames {
	server := ""
	if p, err := netip.ParsePrefix(subnet); err == nil {
		server = netip.AddrPortFrom(p.Masked().Addr().Next(), 53).String()
	}
	return doctor.VMNames{
		Server: server,
		RunningVM: func(ctx context.Context) (string, netip.Addr, bool, error) {
			vms, err := a.ctl.Client.ListVMs(ctx)
			err = a.ctl.Explain(err)
			if errors.Is(err, client.ErrNotRunning) {
				return "", netip.Addr{}, false, nil
			}
			if err != nil {
				return "", netip.Addr{}, false, err
			}
			for _, v := range vms {
				if ip, err := netip.ParseAddr(v.IP); err == nil && v.State == "running" {
					return v.Name, ip, true, nil
				}
			}
			return "", netip.Addr{}, false, nil
		},
	}
}

// configCheck reports whether the config file parses.
func (a *app) configCheck() doctor.Check {
	return doctor.Check{Name: "config", Run: func(context.Context) doctor.Result {
		r := doctor.Result{Name: "config", Status: doctor.Pass, Summary: a.dirs.ConfigFile()}
		if _, err := a.config(); err != nil {
			r.Status, r.Summary = doctor.Fail, err.Error()
			r.Fix = "correct the config file; every key is optional, so an empty file is valid"
		}
		return r
	}}
}
