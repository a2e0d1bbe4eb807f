package doctor

import (
	"context"
	"errors"
)

// DefaultField is one VM default and where its value came from
// ("config", "auto" or "builtin").
type DefaultField struct {
	Name       string `json:"name"`
	Value      string `json:"value"`
	Provenance string `json:"provenance"`
}

// DaemonStatus is what a daemon probe found.
type DaemonStatus struct {
	Running bool
	Version string
	PID     int
	Socket  string
	// WebError says why the web UI is off although the config asks for it.
	WebError string
}

// KVMDeviceEnv names an environment variable that points the kvm check at
// another path than /dev/kvm, so that tests can show a host without KVM.
const KVMDeviceEnv = "BANGER_DOCTOR_KVM_DEVICE"

// Options are the plain values the checks need from the config and the CLI.
type Options struct {
	VMM            string // "auto", "firecracker" or "qemu"; "" means auto
	FirecrackerBin string // configured path; "" looks on PATH
	StateDir       string // where images and disks live
	ConfigPath     string // where the user overrides the VM defaults
	Keyring        string // debian_keyring from the config; "" means Debian's archive keyring
	KVMDevice      string // where KVM lives; "" means /dev/kvm
	Defaults       []DefaultField
	// Daemon probes the daemon; it must not start it.
	Daemon func(ctx context.Context) (DaemonStatus, error)
	// DaemonBin returns where bangerd would be started from.
	DaemonBin func() (string, error)
	Host      Host // nil means LocalHost
	VMNames   VMNames
}

// Checks returns every host check, in the order they are reported.
func Checks(opts Options) []Check {
	if opts.Host == nil {
		opts.Host = LocalHost{}
	}
	checks := []Check{
		{Name: "kvm", Run: func(context.Context) Result { return checkKVM(opts) }},
		{Name: "firecracker", Run: func(ctx context.Context) Result { return checkFirecracker(ctx, opts) }},
		{Name: "qemu", Run: func(ctx context.Context) Result { return checkQEMU(ctx, opts) }},
	}
	for _, t := range tools {
		checks = append(checks, Check{Name: t.name, Run: func(context.Context) Result { return checkTool(opts.Host, t) }})
	}
	return append(checks,
		Check{Name: "keyring", Run: func(context.Context) Result { return checkKeyring(opts.Host, opts.Keyring) }},
		Check{Name: "tun", Run: func(context.Context) Result { return checkTun(opts.Host) }},
		Check{Name: "privileges", Run: func(ctx context.Context) Result { return checkPrivileges(ctx, opts.Host, opts.daemonBin) }},
		Check{Name: "disk", Run: func(context.Context) Result { return checkDisk(opts.Host, opts.StateDir) }},
		Check{Name: "daemon", Run: func(ctx context.Context) Result { return checkDaemon(ctx, opts) }},
		Check{Name: "vm defaults", Run: func(context.Context) Result { return checkDefaults(opts) }},
		Check{Name: "vm names", Run: func(ctx context.Context) Result { return checkVMNames(ctx, opts.VMNames) }},
	)
}

// daemonBin is DaemonBin, or an error when it is not set.
func (o Options) daemonBin() (string, error) {
	if o.DaemonBin == nil {
		return "", errors.New("no bangerd")
	}
	return o.DaemonBin()
}

func pass(name, summary string) Result {
	return Result{Name: name, Status: Pass, Summary: summary}
}

func warn(name, summary, fix string) Result {
	return Result{Name: name, Status: Warn, Summary: summary, Fix: fix}
}

func fail(name, summary, fix string) Result {
	return Result{Name: name, Status: Fail, Summary: summary, Fix: fix}
}
