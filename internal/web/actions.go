package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"banger/internal/api"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/vmname"
)

// Actions answer 303 to the page to show next: the VM's page after create,
// start, restart and stop, where their progress shows, and the list after
// delete.
// A failure that is known at once re-renders the page with the error.

func (s *Server) createVM(w http.ResponseWriter, r *http.Request) {
	form := createForm{
		Name:      strings.TrimSpace(r.PostFormValue("name")),
		Image:     strings.TrimSpace(r.PostFormValue("image")),
		VCPU:      strings.TrimSpace(r.PostFormValue("vcpu")),
		MemoryMiB: strings.TrimSpace(r.PostFormValue("memory_mib")),
		DiskSize:  strings.TrimSpace(r.PostFormValue("disk_size")),
	}
	req, err := s.createRequest(r.Context(), form)
	if err == nil {
		err = s.ops.run(req.Name, "create", func(ctx context.Context, prog progress.Func) error {
			return s.b.CreateVM(ctx, req, prog)
		})
	}
	if err != nil {
		s.renderVMs(w, r, statusOf(err), err.Error(), form)
		return
	}
	s.log.Info("web: creating VM", "vm", req.Name)
	redirect(w, r, vmPath(req.Name))
}

// createRequest checks the create form, generating a name when it has
// none.
func (s *Server) createRequest(ctx context.Context, f createForm) (api.CreateVMRequest, error) {
	req := api.CreateVMRequest{Name: f.Name, Image: f.Image}
	if req.Name == "" {
		pending := s.ops.pendingNames()
		req.Name = vmname.Generate(func(n string) bool {
			_, err := s.b.GetVM(ctx, n)
			return err == nil || pending[n] != ""
		})
	}
	if err := vmname.Validate(req.Name); err != nil {
		return req, err
	}
	if _, err := s.b.GetVM(ctx, req.Name); err == nil {
		return req, errdefs.AlreadyExists("a VM named %s already exists: pick another name", req.Name)
	}
	if req.Image == "" {
		return req, errdefs.InvalidArgument("no image: pick one, or leave the default")
	}
	var err error
	if req.VCPU, err = strconv.Atoi(f.VCPU); err != nil || req.VCPU < config.MinVCPU || req.VCPU > config.MaxVCPU {
		return req, errdefs.InvalidArgument("vcpu %q: use a whole number from %d to %d", f.VCPU, config.MinVCPU, config.MaxVCPU)
	}
	if req.MemoryMiB, err = strconv.Atoi(f.MemoryMiB); err != nil || req.MemoryMiB < config.MinMemoryMiB || req.MemoryMiB > config.MaxMemoryMiB {
		return req, errdefs.InvalidArgument("memory %q: use a whole number of MiB from %d to %d", f.MemoryMiB, config.MinMemoryMiB, config.MaxMemoryMiB)
	}
	disk, err := config.ParseSize(f.DiskSize)
	if err != nil {
		return req, errdefs.InvalidArgument("disk size: %v", err)
	}
	if disk < config.MinDiskSize {
		return req, errdefs.InvalidArgument("disk size %s is too small: use at least %s", disk, config.MinDiskSize)
	}
	req.DiskBytes = int64(disk)
	return req, nil
}

func (s *Server) startVM(w http.ResponseWriter, r *http.Request) {
	s.powerAction(w, r, "start", func(ctx context.Context, name string, prog progress.Func) error {
		return s.b.StartVM(ctx, name, prog)
	})
}

// restartVM stops a VM and boots it again: the UI offers it for a VM in
// error that runs (its guest did not get ready), where start has nothing
// to do.
func (s *Server) restartVM(w http.ResponseWriter, r *http.Request) {
	s.powerAction(w, r, "restart", func(ctx context.Context, name string, prog progress.Func) error {
		return s.b.RestartVM(ctx, name, prog)
	})
}

func (s *Server) stopVM(w http.ResponseWriter, r *http.Request) {
	s.powerAction(w, r, "stop", func(ctx context.Context, name string, prog progress.Func) error {
		prog.Step("powering off")
		return s.b.StopVM(ctx, name)
	})
}

// powerAction runs start, restart or stop in the background and sends the browser
// back to the page it came from (the list or the VM's page).
func (s *Server) powerAction(w http.ResponseWriter, r *http.Request, kind string, work func(context.Context, string, progress.Func) error) {
	name := r.PathValue("name")
	if _, err := s.b.GetVM(r.Context(), name); err != nil {
		s.failErr(w, r, err)
		return
	}
	err := s.ops.run(name, kind, func(ctx context.Context, prog progress.Func) error {
		return work(ctx, name, prog)
	})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.log.Info("web: "+kind+" VM", "vm", name)
	if r.PostFormValue("back") == "list" {
		redirect(w, r, "/")
		return
	}
	redirect(w, r, vmPath(name))
}

func (s *Server) deleteVM(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if p, ok := s.ops.get(name); ok && !p.Done {
		s.failErr(w, r, errdefs.FailedPrecondition("VM %s is busy: its %s is still running; wait for it to finish", name, p.Kind))
		return
	}
	force := r.PostFormValue("force") != ""
	if err := s.b.DeleteVM(r.Context(), name, force); err != nil {
		if errors.Is(err, errdefs.ErrFailedPrecondition) && !force {
			err = errdefs.FailedPrecondition("VM %s is running: stop it first, or tick \"also if running\" to delete it anyway", name)
		}
		s.failErr(w, r, err)
		return
	}
	s.ops.forget(name)
	s.log.Info("web: deleted VM", "vm", name)
	redirect(w, r, "/")
}

func vmPath(name string) string { return "/vms/" + url.PathEscape(name) }

func redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}
