package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/guestssh/sshcmd"
)

// VMSSHConfigOptions are the inputs of `banger vm ssh-config`.
type VMSSHConfigOptions struct {
	Name   string // empty for every running VM
	Stdout io.Writer
}

func newVMSSHConfigCmd(a *app) *cobra.Command {
	opts := VMSSHConfigOptions{}
	return &cobra.Command{
		Use:   "ssh-config [NAME]",
		Short: "Print OpenSSH Host blocks for running VMs",
		Long: `Print an OpenSSH client configuration with one Host block per running VM,
or for the one named, so that ssh, scp, rsync, VS Code Remote-SSH and
anything else that reads ssh_config reach the VM as ` + "`banger vm ssh`" + ` does: as
root, with banger's key, checking the guest's host key strictly against the
keys its agent reported at boot.

Each block answers to NAME and NAME.vm. Without a NAME, VMs that ssh cannot
reach (stopped, network policy none, no sshd) are listed as comments; with
one, such a VM is an error. Guest addresses change when a VM restarts: print
the configuration again after one does. ssh closes the descriptors it
inherits before reading -F, so give it a file (or /dev/stdin), not <(...).`,
		Example: `  banger vm ssh-config > ~/.ssh/banger.conf
  ssh -F ~/.ssh/banger.conf box.vm
  scp -F ~/.ssh/banger.conf notes.txt box.vm:/root/
  rsync -a -e 'ssh -F ~/.ssh/banger.conf' src/ box.vm:/root/src/
  banger vm ssh-config box | ssh -F /dev/stdin box.vm uname -a
  # for every ssh client and VS Code: put this line at the top of ~/.ssh/config
  #   Include ~/.ssh/banger.conf`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdout = a.stdout
			if len(args) == 1 {
				opts.Name = args[0]
			}
			return a.vmSSHConfig(cmd.Context(), opts)
		},
	}
}

func (a *app) vmSSHConfig(ctx context.Context, opts VMSSHConfigOptions) error {
	return a.call(ctx, func(c *client.Client) error {
		if opts.Name != "" {
			t, err := c.VMSSH(ctx, opts.Name)
			if err != nil {
				return err
			}
			_, err = io.WriteString(opts.Stdout, sshConfigBlock(opts.Name, t))
			return err
		}
		vms, err := c.ListVMs(ctx)
		if err != nil {
			return err
		}
		return writeSSHConfig(ctx, c, vms, opts.Stdout)
	})
}

// writeSSHConfig writes a Host block for each VM ssh can reach and a
// comment saying why for each other.
func writeSSHConfig(ctx context.Context, c *client.Client, vms []api.VM, w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Written by `banger vm ssh-config`; use with `ssh -F FILE NAME.vm`.\n")
	if len(vms) == 0 {
		b.WriteString("# No VMs. `banger vm run` boots one.\n")
	}
	for _, v := range vms {
		if v.State != "running" {
			fmt.Fprintf(&b, "\n# %s: skipped, it is %s: start it with `banger vm start %s`\n", v.Name, v.State, v.Name)
			continue
		}
		t, err := c.VMSSH(ctx, v.Name)
		if errors.Is(err, errdefs.ErrFailedPrecondition) || errors.Is(err, errdefs.ErrNotFound) {
			fmt.Fprintf(&b, "\n# %s: skipped: %s\n", v.Name, safeLine(err.Error()))
			continue
		}
		if err != nil {
			return err
		}
		b.WriteString("\n" + sshConfigBlock(v.Name, t))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sshConfigBlock is VM name's Host block: the options `banger vm ssh`
// passes on ssh's command line, as ssh_config(5) lines.
func sshConfigBlock(name string, t api.SSHTarget) string {
	gt := sshcmd.Target{User: t.User, Host: t.Host, Key: t.Key, KnownHosts: t.KnownHosts, Alias: t.Alias}
	var b strings.Builder
	fmt.Fprintf(&b, "Host %s %s.vm\n", name, name)
	lines := []sshcmd.Option{{Key: "HostName", Value: t.Host}, {Key: "User", Value: t.User}, {Key: "IdentityFile", Value: t.Key}}
	for _, o := range append(lines, gt.Options()...) {
		fmt.Fprintf(&b, "  %s %s\n", o.Key, sshConfigValue(o.Value))
	}
	return b.String()
}

// sshConfigValue quotes a value ssh_config would split at a space.
func sshConfigValue(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"#") {
		return `"` + strings.ReplaceAll(v, `"`, "") + `"`
	}
	return v
}
