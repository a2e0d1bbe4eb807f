package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/portfwd"
)

// portsHelp explains -p and vm port-forward; vm create, vm run and vm
// port-forward show it.
const portsHelp = `Ports: bangerd forwards a host port to a port of the guest, TCP or UDP, from
the moment the VM runs until it stops; a VM started again, or kept running
across a daemon restart, gets its forwards back. -p takes Docker's syntax:
  -p 8000               a free host port (see ` + "`banger vm list`" + `) to guest port 8000
  -p 18080:8000         host port 18080 to guest port 8000
  -p 0.0.0.0:18080:8000 the same on every host address, not only loopback
  -p 5353:53/udp        UDP
A forward listens on 127.0.0.1 unless HOSTADDR names another address: other
machines reach the guest only through an address you give. Under network
policy none the host cannot reach the guest, so no port is forwarded.`

// VMPortForwardOptions are the inputs of `banger vm port-forward`.
type VMPortForwardOptions struct {
	Name string
	// Ports are forwards to add, or with Remove, host ports to remove;
	// none lists the VM's forwards.
	Ports  []string
	Remove bool
	JSON   bool
	Stdout io.Writer
}

func newVMPortForwardCmd(a *app) *cobra.Command {
	opts := VMPortForwardOptions{}
	cmd := &cobra.Command{
		Use:   "port-forward NAME [[HOSTADDR:][HOSTPORT:]GUESTPORT[/udp]...]",
		Short: "Forward host ports to a VM, or list or remove its forwards",
		Long: `Forward host ports to a VM's guest ports, list a VM's forwards, or remove
them with --rm. A running VM's new forwards work before the command returns;
a stopped VM's start with it. Forwards are kept with the VM and go with it.

With --rm, each argument is a forward's host side, [HOSTADDR:]HOSTPORT[/udp]:
the port as given with -p or, for a free port banger picked, as listed.

` + portsHelp,
		Example: `  banger vm port-forward box 18080:8000
  banger vm port-forward box 8000 9000/udp
  banger vm port-forward box
  banger vm port-forward box --rm 18080`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.complete.vms,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Ports, opts.Stdout = args[0], args[1:], a.stdout
			return a.vmPortForward(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Remove, "rm", false, "remove the forwards on the host ports given")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the VM's forwards as JSON")
	return cmd
}

func (a *app) vmPortForward(ctx context.Context, opts VMPortForwardOptions) error {
	if opts.Remove && len(opts.Ports) == 0 {
		return errdefs.InvalidArgument("--rm needs the host ports to stop forwarding, e.g. `banger vm port-forward %s --rm 18080`", opts.Name)
	}
	var add []api.PortForward
	var err error
	if opts.Remove {
		err = checkHostPorts(opts.Ports)
	} else {
		add, err = parsePublish(opts.Ports)
	}
	if err != nil {
		return err
	}
	var vm api.VM
	err = a.call(ctx, func(c *client.Client) (err error) {
		switch {
		case opts.Remove:
			vm, err = c.RemovePorts(ctx, opts.Name, opts.Ports)
		case len(add) > 0:
			vm, err = c.AddPorts(ctx, opts.Name, add)
		default:
			vm, err = c.GetVM(ctx, opts.Name)
		}
		return err
	})
	if err != nil {
		return err
	}
	return writePorts(opts, vm)
}

// writePorts prints vm's forwards, one a line, or a note that it has none.
func writePorts(opts VMPortForwardOptions, vm api.VM) error {
	if opts.JSON {
		ports := vm.Ports
		if ports == nil {
			ports = []api.PortForward{}
		}
		return writeJSON(opts.Stdout, ports)
	}
	if len(vm.Ports) == 0 {
		_, err := fmt.Fprintf(opts.Stdout, "VM %s forwards no ports. `banger vm port-forward %s 18080:8000` adds one.\n", vm.Name, vm.Name)
		return err
	}
	for _, p := range vm.Ports {
		fmt.Fprintln(opts.Stdout, p.String())
	}
	if vm.State != "running" {
		fmt.Fprintf(opts.Stdout, "VM %s is %s: its ports are forwarded once it runs (`banger vm start %s`).\n", vm.Name, vm.State, vm.Name)
	}
	return nil
}

// parsePublish reads -p values (and vm port-forward's arguments).
func parsePublish(specs []string) ([]api.PortForward, error) {
	var out []api.PortForward
	for _, s := range specs {
		sp, err := portfwd.Parse(s)
		if err != nil {
			return nil, errdefs.InvalidArgument("%v", err)
		}
		out = append(out, api.PortForward{HostAddr: sp.HostAddr, HostPort: sp.HostPort, GuestPort: sp.GuestPort, Proto: sp.Proto})
	}
	return out, nil
}

// checkHostPorts checks --rm's arguments before the daemon is asked.
func checkHostPorts(hostPorts []string) error {
	for _, s := range hostPorts {
		if _, err := portfwd.ParseHost(s); err != nil {
			return errdefs.InvalidArgument("--rm: %v (want [HOSTADDR:]HOSTPORT[/udp])", err)
		}
	}
	return nil
}

// portsLine is ports as vm list and vm show put them on one line.
func portsLine(ports []api.PortForward) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
