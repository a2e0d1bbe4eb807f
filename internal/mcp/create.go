package mcp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/network/netpolicy"
	"banger/internal/progress"
	"banger/internal/vmname"
)

const createHelp = `Create a fresh Linux microVM sandbox and boot it; returns its name, which
every other sandbox_* tool takes. Booting takes a few seconds (warm start) to
a minute; progress is reported. Give workspace (an absolute path on the host,
inside a git work tree) to copy that repository into the sandbox at
/root/NAME before it boots: tracked files plus untracked ones git does not
ignore, uncommitted edits and history included; commands then run there by
default, and sandbox_export_changes brings the changes back as a patch.
Sandboxes are deleted when this MCP session ends unless keep is true.
Leave image and the sizes out to get the configured defaults; an unknown image
is refused with the list of images there are.`

// createIn are sandbox_create's arguments.
type createIn struct {
	Image        string            `json:"image,omitempty" jsonschema:"image to boot; default: the configured default image"`
	VCPU         int               `json:"vcpu,omitempty" jsonschema:"virtual CPUs; default: the configured size"`
	MemoryMiB    int               `json:"memory_mib,omitempty" jsonschema:"memory in MiB, at least 128; default: the configured size"`
	DiskSize     string            `json:"disk_size,omitempty" jsonschema:"size of the work disk mounted at /root, such as 8G or 16G; default: the configured size"`
	Network      string            `json:"network,omitempty" jsonschema:"what the sandbox may reach: internet, none, open, or allow=HOST[,HOST...]; default: the configured policy"`
	Workspace    string            `json:"workspace,omitempty" jsonschema:"absolute host path in a git work tree, copied into the sandbox at /root/NAME"`
	FromSnapshot string            `json:"from_snapshot,omitempty" jsonschema:"restore a snapshot made by sandbox_snapshot instead of booting an image (then leave image, sizes and workspace out)"`
	Name         string            `json:"name,omitempty" jsonschema:"sandbox name, a DNS label; default: a generated name"`
	Labels       map[string]string `json:"labels,omitempty" jsonschema:"labels to put on the sandbox, KEY: VALUE"`
	Keep         bool              `json:"keep,omitempty" jsonschema:"keep the sandbox after this MCP session ends (default: it is deleted)"`
}

// sandboxOut describes a sandbox.
type sandboxOut struct {
	Name      string            `json:"name"`
	State     string            `json:"state"`
	Image     string            `json:"image"`
	IP        string            `json:"ip,omitempty"`
	Network   string            `json:"network"`
	VCPU      int               `json:"vcpu"`
	MemoryMiB int               `json:"memory_mib"`
	DiskBytes int64             `json:"disk_bytes"`
	Workdir   string            `json:"workdir" jsonschema:"where sandbox_run runs commands and relative paths lead"`
	Labels    map[string]string `json:"labels,omitempty"`
	Session   string            `json:"session" jsonschema:"the MCP session that made it"`
	Kept      bool              `json:"kept,omitempty" jsonschema:"it outlives the session that made it"`
}

func toSandbox(v api.VM, keep bool) sandboxOut {
	return sandboxOut{
		Name: v.Name, State: v.State, Image: v.Image, IP: v.IP, Network: v.Network,
		VCPU: v.VCPU, MemoryMiB: v.MemoryMiB, DiskBytes: v.DiskBytes, Workdir: workdirOf(v),
		Labels: v.Labels, Session: v.Labels[SessionLabel], Kept: keep,
	}
}

func (s *Server) create(ctx context.Context, call *toolCall, in createIn) (sandboxOut, error) {
	req, err := s.createRequest(ctx, in)
	if err != nil {
		return sandboxOut{}, err
	}
	req.Labels[SessionLabel] = call.st.id
	v, err := s.boot(ctx, call, req, in.Keep)
	if err != nil {
		return sandboxOut{}, err
	}
	return toSandbox(v, in.Keep), nil
}

// boot creates the VM req asks for, reporting progress, and records it
// as the session's. A VM that fails to come up is deleted: a failed
// call leaves nothing behind.
func (s *Server) boot(ctx context.Context, call *toolCall, req api.CreateVMRequest, keep bool) (api.VM, error) {
	if req.Name == "" {
		req.Name = s.freeName(ctx)
	}
	p := &reporter{call: call}
	prog := func(e progress.Event) {
		if msg := strings.TrimSpace(e.Step + ": " + e.Message); msg != ":" {
			p.report(ctx, strings.Trim(msg, ": "), 0, 0)
		}
	}
	var v api.VM
	err := s.call(ctx, func(c *client.Client) (err error) {
		v, err = c.CreateVM(ctx, req, prog)
		return err
	})
	if err == nil && !call.st.add(req.Name, keep) {
		err = errdefs.Unavailable("the MCP session ended while the sandbox booted")
	}
	if err != nil {
		if !errors.Is(err, errdefs.ErrAlreadyExists) {
			s.remove(req.Name)
		}
		return api.VM{}, fmt.Errorf("creating sandbox %s: %w", req.Name, err)
	}
	return v, nil
}

// remove deletes a VM, even when the call that made it was cancelled.
func (s *Server) remove(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	err := s.call(ctx, func(c *client.Client) error { return c.DeleteVM(ctx, name, true) })
	if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		s.log.Warn("mcp: removing a sandbox", "vm", name, "err", err)
	}
}

// freeName picks a VM name no VM has.
func (s *Server) freeName(ctx context.Context) string {
	var vms []api.VM
	_ = s.call(ctx, func(c *client.Client) (err error) {
		vms, err = c.ListVMs(ctx)
		return err
	})
	return vmname.Generate(func(n string) bool {
		return slices.ContainsFunc(vms, func(v api.VM) bool { return v.Name == n })
	})
}

// createRequest checks sandbox_create's arguments before anything is
// made, and fills in the defaults.
func (s *Server) createRequest(ctx context.Context, in createIn) (api.CreateVMRequest, error) {
	if err := checkCommon(in); err != nil {
		return api.CreateVMRequest{}, err
	}
	policy, err := netpolicy.Parse(in.Network)
	if err != nil {
		return api.CreateVMRequest{}, fmt.Errorf("network %q: %w", in.Network, err)
	}
	labels := maps.Clone(in.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	defaults, err := s.opts.Defaults(ctx)
	if err != nil {
		return defaults, err
	}
	if in.Network != "" {
		defaults.Network = policy.String()
	}
	if in.FromSnapshot != "" {
		if in.Image != "" || in.VCPU != 0 || in.MemoryMiB != 0 || in.DiskSize != "" || in.Workspace != "" {
			return api.CreateVMRequest{}, errdefs.InvalidArgument("from_snapshot with image, vcpu, memory_mib, disk_size or workspace: a sandbox made from a snapshot has the snapshot's image, size and files; leave those out")
		}
		return api.CreateVMRequest{Name: in.Name, FromSnapshot: in.FromSnapshot, Network: defaults.Network, Labels: labels}, nil
	}
	req := defaults
	req.Name, req.Labels, req.AgentExec = in.Name, labels, true
	if err := s.shape(ctx, &req, in); err != nil {
		return req, err
	}
	if in.Workspace != "" {
		req.Workspace = &api.Workspace{Path: filepath.Clean(in.Workspace)}
	}
	return req, nil
}

// checkCommon checks the arguments whose rules need nothing but them.
func checkCommon(in createIn) error {
	if in.Name != "" {
		if err := vmname.Validate(in.Name); err != nil {
			return err
		}
	}
	if _, ok := in.Labels[SessionLabel]; ok {
		return errdefs.InvalidArgument("label %s is banger mcp's own: it marks the session that made a sandbox; leave it out", SessionLabel)
	}
	if in.Workspace != "" && !filepath.IsAbs(in.Workspace) {
		return errdefs.InvalidArgument("workspace %q is relative, and this server's directory is not yours: give the absolute path of the repository on the host", in.Workspace)
	}
	return nil
}

// shape sets the image and the sizes in, checking them.
func (s *Server) shape(ctx context.Context, req *api.CreateVMRequest, in createIn) error {
	if in.Image != "" {
		req.Image = in.Image
	}
	if in.VCPU != 0 {
		req.VCPU = in.VCPU
	}
	if in.MemoryMiB != 0 {
		req.MemoryMiB = in.MemoryMiB
	}
	if in.DiskSize != "" {
		size, err := config.ParseSize(in.DiskSize)
		if err != nil {
			return errdefs.InvalidArgument("disk_size %q: %v; write it as 8G or 16G", in.DiskSize, err)
		}
		req.DiskBytes = int64(size)
	}
	switch {
	case req.VCPU < 1:
		return errdefs.InvalidArgument("vcpu %d: a sandbox needs at least 1", req.VCPU)
	case req.MemoryMiB < 128:
		return errdefs.InvalidArgument("memory_mib %d: a sandbox needs at least 128", req.MemoryMiB)
	case config.Size(req.DiskBytes) < config.MinDiskSize || config.Size(req.DiskBytes) > config.MaxDiskSize:
		return errdefs.InvalidArgument("disk_size %s: give a size from %s to %s", config.Size(req.DiskBytes), config.MinDiskSize, config.MaxDiskSize)
	}
	return s.checkImage(ctx, req.Image)
}

// checkImage refuses an image that is neither local nor in the catalog,
// naming those that are.
func (s *Server) checkImage(ctx context.Context, name string) error {
	if name == "" {
		return errdefs.InvalidArgument("no image given and no default_image_name in banger's config: pass image")
	}
	var local []api.Image
	var catalog []api.CatalogEntry
	err := s.call(ctx, func(c *client.Client) (err error) {
		if local, err = c.Images().List(ctx); err != nil {
			return err
		}
		catalog, err = c.Images().Catalog(ctx)
		return err
	})
	if err != nil {
		return err
	}
	var names []string
	for _, im := range local {
		names = append(names, im.Name)
	}
	for _, e := range catalog {
		if e.Kind == "image" && !slices.Contains(names, e.Name) {
			names = append(names, e.Name)
		}
	}
	if slices.Contains(names, name) {
		return nil
	}
	slices.Sort(names)
	return errdefs.InvalidArgument("no image named %q; images: %s", name, strings.Join(names, ", "))
}
