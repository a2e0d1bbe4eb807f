package server

import (
	"context"
	"net/http"

	"banger/internal/api"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vm"
)

func (s *Server) imageRoutes(mux *http.ServeMux) {
	p := api.Prefix
	mux.HandleFunc("GET "+p+"/images", listOf(s.lib.Images, imageToAPI))
	mux.HandleFunc("POST "+p+"/images", s.postRegisterImage)
	mux.HandleFunc("POST "+p+"/images/pull", s.postPullImage)
	mux.HandleFunc("POST "+p+"/images/import", s.postImportImage)
	mux.HandleFunc("GET "+p+"/images/{name}", s.getImage)
	mux.HandleFunc("GET "+p+"/images/{name}/bundle", s.getImageBundle)
	mux.HandleFunc("DELETE "+p+"/images/{name}", s.deleteImage)
	mux.HandleFunc("POST "+p+"/images/{name}/warm", s.postWarmImage)
	mux.HandleFunc("GET "+p+"/kernels", listOf(s.lib.Kernels, kernelToAPI))
	mux.HandleFunc("POST "+p+"/kernels", s.postRegisterKernel)
	mux.HandleFunc("POST "+p+"/kernels/pull", s.postPullKernel)
	mux.HandleFunc("GET "+p+"/kernels/{name}", s.getKernel)
	mux.HandleFunc("DELETE "+p+"/kernels/{name}", s.deleteKernel)
	mux.HandleFunc("GET "+p+"/catalog", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.lib.Catalog(r.Context()))
	})
}

func (s *Server) postPullImage(w http.ResponseWriter, r *http.Request) {
	var req api.PullImageRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		im, err := s.lib.PullImage(ctx, req.Name, prog)
		return imageToAPI(im), err
	})
}

func (s *Server) postRegisterImage(w http.ResponseWriter, r *http.Request) {
	var req api.RegisterImageRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	im, err := s.lib.RegisterImage(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, imageToAPI(im))
}

func (s *Server) postImportImage(w http.ResponseWriter, r *http.Request) {
	var req api.ImportImageRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		im, err := s.lib.ImportImage(ctx, req, prog)
		return imageToAPI(im), err
	})
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	d, err := s.lib.ImageDetail(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	im := d.Image
	writeJSON(w, http.StatusOK, api.ImageDetail{
		Image: imageToAPI(im), RootfsPath: im.RootfsPath, AllocatedBytes: d.AllocatedBytes, Digest: im.Digest,
		UsedBy: d.UsedBy, Templates: convertAll(s.snaps.Templates(im.Name), templateToAPI),
	})
}

// getImageBundle streams an image (and its kernel) as a bundle.
func (s *Server) getImageBundle(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	write, err := s.lib.ExportImage(r.Context(), name)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := write(w); err != nil {
		// The answer has begun; all we can do is cut it short, which the
		// client sees as a truncated download and discards.
		s.log.Warn("export failed", "image", name, "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) {
	if err := s.lib.DeleteImage(r.Context(), r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// postWarmImage makes the warm template of an image at one size, as the
// first VM of that combination would.
func (s *Server) postWarmImage(w http.ResponseWriter, r *http.Request) {
	var req api.WarmImageRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		t, err := s.snaps.WarmImage(ctx, r.PathValue("name"), req.VCPU, req.MemoryMiB, prog)
		return templateToAPI(t), err
	})
}

func (s *Server) postPullKernel(w http.ResponseWriter, r *http.Request) {
	var req api.PullKernelRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		k, err := s.lib.PullKernel(ctx, req.Name, prog)
		return kernelToAPI(k), err
	})
}

func (s *Server) postRegisterKernel(w http.ResponseWriter, r *http.Request) {
	var req api.RegisterKernelRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	k, err := s.lib.RegisterKernel(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, kernelToAPI(k))
}

func (s *Server) getKernel(w http.ResponseWriter, r *http.Request) {
	k, err := s.lib.Kernel(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	users, err := s.lib.KernelUsers(r.Context(), k.Name)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.KernelDetail{Kernel: kernelToAPI(k), Path: k.Path, VmlinuxPath: k.VmlinuxPath, InitrdPath: k.InitrdPath, UsedBy: users})
}

func (s *Server) deleteKernel(w http.ResponseWriter, r *http.Request) {
	if err := s.lib.DeleteKernel(r.Context(), r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func imageToAPI(im store.Image) api.Image {
	return api.Image{Name: im.Name, Source: im.Source, Kernel: im.Kernel, SizeBytes: im.SizeBytes, CreatedAt: im.CreatedAt}
}

func kernelToAPI(k store.Kernel) api.Kernel {
	return api.Kernel{Name: k.Name, Version: k.Version, Source: k.Source, CreatedAt: k.CreatedAt}
}

func templateToAPI(t vm.TemplateInfo) api.WarmTemplate {
	return api.WarmTemplate{Kernel: t.Kernel, VCPU: t.VCPU, MemoryMiB: t.MemoryMiB, VMM: t.VMM, Accel: t.Accel, Bytes: t.Bytes, CreatedAt: t.Created}
}
