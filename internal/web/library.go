package web

import (
	"context"
	"net/http"
	"strings"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/progress"
)

// The library's pages: images (with pulls), kernels and snapshots.

func (s *Server) imagesPage(w http.ResponseWriter, r *http.Request) {
	s.renderImages(w, r, http.StatusOK, "", "")
}

// renderImages renders the images page, with msg as its error and
// pullName in the pull form.
func (s *Server) renderImages(w http.ResponseWriter, r *http.Request, status int, msg, pullName string) {
	images, err := s.b.ListImages(r.Context())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	var catalog []api.CatalogEntry
	for _, e := range s.b.Catalog(r.Context()) {
		if e.Kind == "image" {
			catalog = append(catalog, e)
		}
	}
	s.render(w, status, "images", "layout", pageData{
		Title: "Images", Nav: "images", Error: msg, Images: images,
		Catalog: catalog, Pulls: s.pulls.list(), PullName: pullName,
	})
}

// imagesPart is the pulls and the image list, which the page refreshes.
func (s *Server) imagesPart(w http.ResponseWriter, r *http.Request) {
	images, err := s.b.ListImages(r.Context())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "images", "imagelist", pageData{Images: images, Pulls: s.pulls.list()})
}

// pullImage pulls an image in the background and sends the browser back
// to the images page, which follows the pull.
func (s *Server) pullImage(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	var err error
	if name == "" {
		err = errdefs.InvalidArgument("no image to pull: pick one of the suggestions, or give an OCI reference")
	} else {
		err = s.pulls.run(name, "pull", func(ctx context.Context, prog progress.Func) error {
			return s.b.PullImage(ctx, name, prog)
		})
	}
	if err != nil {
		s.renderImages(w, r, statusOf(err), err.Error(), name)
		return
	}
	s.log.Info("web: pulling image", "image", name)
	redirect(w, r, "/images")
}

func (s *Server) kernelsPage(w http.ResponseWriter, r *http.Request) {
	kernels, err := s.b.ListKernels(r.Context())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "kernels", "layout", pageData{Title: "Kernels", Nav: "kernels", Kernels: kernels})
}

func (s *Server) snapshotsPage(w http.ResponseWriter, r *http.Request) {
	snaps, err := s.b.ListSnapshots(r.Context())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "snapshots", "layout", pageData{Title: "Snapshots", Nav: "snapshots", Snapshots: snaps})
}
