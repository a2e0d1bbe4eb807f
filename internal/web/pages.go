package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"banger/internal/api"
	"banger/internal/config"
	"banger/internal/errdefs"
)

//go:embed assets
var assets embed.FS

// staticFS is served under /static/.
var staticFS = mustSub(assets, "assets/static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// pages holds one template set per page; each shares the layout and the
// parts that the page's scripts also fetch on their own.
type pages struct {
	byName map[string]*template.Template
}

var pageNames = []string{"vms", "vm", "images", "kernels", "snapshots", "error", "login"}

// tokenless pages have no form that needs the CSRF token, and are shown to
// requests that were refused or are not logged in yet: they must not
// carry it, nor the config warning (it quotes config.toml).
var tokenless = map[string]bool{"error": true, "login": true}

func loadPages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets,
			"assets/templates/layout.html", "assets/templates/parts.html", "assets/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parsing page %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

var funcs = template.FuncMap{
	"spec": func(v api.VM) string {
		return fmt.Sprintf("%d vcpu · %d MiB · %s disk", v.VCPU, v.MemoryMiB, config.Size(v.DiskBytes))
	},
	"bytes": bytesString,
	"when":  when,
	// args passes several values to a template.
	"args": func(v ...any) []any { return v },
}

// when formats a time to the second, in the daemon's time zone. It is a
// fixed text, not "2 min ago", so a refreshed part only changes when the
// VM does (a change replaces it, and the user's half-filled form with it).
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// pageData is what every page's template gets.
type pageData struct {
	Title, Nav, CSRF, Error string
	Warning                 string // the config warning, on pages for a logged-in user
	VMs                     []vmRow
	VM                      *vmView
	Images                  []api.Image
	Kernels                 []api.Kernel
	Snapshots               []api.Snapshot
	Form                    createForm
	Limits                  formLimits
	Catalog                 []api.CatalogEntry // images that can be pulled by name
	Pulls                   []op               // image pulls under way or just done
	PullName                string             // the pull form's content, kept after an error
}

// vmRow is a line of the VM list: the VM and its running operation, if
// any.
type vmRow struct {
	api.VM
	Pending string // the kind of the running operation, or ""
}

// vmView is the VM page: the VM (absent while a create pulls its image),
// its latest operation and its sessions.
type vmView struct {
	Name        string
	VM          api.VM
	Exists      bool
	Op          op
	HasOp       bool
	Sessions    []api.Session
	SessionsErr string
}

// Busy reports whether an operation on the VM still runs.
func (v *vmView) Busy() bool { return v.HasOp && !v.Op.Done }

// createForm is the create form's content, kept to refill it after an
// error.
type createForm struct {
	Name, Image, VCPU, MemoryMiB, DiskSize string
}

// formLimits bound the create form's number inputs, as the config does.
type formLimits struct{ MinVCPU, MaxVCPU, MinMemoryMiB, MaxMemoryMiB int }

var createLimits = formLimits{
	MinVCPU: config.MinVCPU, MaxVCPU: config.MaxVCPU,
	MinMemoryMiB: config.MinMemoryMiB, MaxMemoryMiB: config.MaxMemoryMiB,
}

// render writes a page or a part with status, with the CSRF token unless
// the page is tokenless.
func (s *Server) render(w http.ResponseWriter, status int, page, tmpl string, d pageData) {
	if !tokenless[page] {
		d.CSRF = s.csrf
		d.Warning = s.b.ConfigWarning()
	}
	var b bytes.Buffer
	if err := s.pages.byName[page].ExecuteTemplate(&b, tmpl, d); err != nil {
		s.log.Error("web: rendering", "page", page, "err", err)
		http.Error(w, "rendering the page failed: see `banger daemon logs`", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// fail answers with an error page. It has no form, so it carries no
// CSRF token: it also answers requests refused for their Host (a DNS
// rebinding page could read it) or their peer (another local user).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, status, "error", "layout", pageData{Title: http.StatusText(status), Error: msg})
}

// failErr answers with an error page whose status follows err's kind.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	s.fail(w, r, statusOf(err), err.Error())
}

func statusOf(err error) int {
	switch errdefs.KindOf(err) {
	case errdefs.KindNotFound:
		return http.StatusNotFound
	case errdefs.KindAlreadyExists, errdefs.KindFailedPrecondition:
		return http.StatusConflict
	case errdefs.KindInvalidArgument:
		return http.StatusBadRequest
	case errdefs.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (s *Server) vmsPage(w http.ResponseWriter, r *http.Request) {
	s.renderVMs(w, r, http.StatusOK, "", createForm{})
}

// renderVMs renders the VM list with the create form, filled with the
// config's defaults unless form carries what the user typed.
func (s *Server) renderVMs(w http.ResponseWriter, r *http.Request, status int, msg string, form createForm) {
	rows, err := s.vmRows(r)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	images, err := s.b.ListImages(r.Context())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if form == (createForm{}) {
		if form, err = s.defaultForm(r); err != nil {
			msg = err.Error()
		}
	}
	s.render(w, status, "vms", "layout", pageData{
		Title: "VMs", Nav: "vms", Error: msg, VMs: rows, Images: images, Form: form, Limits: createLimits,
	})
}

func (s *Server) defaultForm(r *http.Request) (createForm, error) {
	d, err := s.b.Defaults(r.Context())
	if err != nil {
		return createForm{}, err
	}
	return createForm{
		Image: d.Image, VCPU: fmt.Sprint(d.VCPU), MemoryMiB: fmt.Sprint(d.MemoryMiB),
		DiskSize: config.Size(d.DiskBytes).String(),
	}, nil
}

// vmRows lists the VMs with their running operations, and the creates
// whose VM is not recorded yet (they are still pulling an image).
func (s *Server) vmRows(r *http.Request) ([]vmRow, error) {
	vms, err := s.b.ListVMs(r.Context())
	if err != nil {
		return nil, err
	}
	pending := s.ops.pendingNames()
	rows := make([]vmRow, 0, len(vms)+len(pending))
	for _, v := range vms {
		rows = append(rows, vmRow{VM: v, Pending: pending[v.Name]})
		delete(pending, v.Name)
	}
	for name, kind := range pending {
		if kind == "create" {
			rows = append(rows, vmRow{VM: api.VM{Name: name, State: "creating"}, Pending: kind})
		}
	}
	slices.SortStableFunc(rows, func(a, b vmRow) int { return strings.Compare(a.Name, b.Name) })
	return rows, nil
}

func (s *Server) vmRowsPart(w http.ResponseWriter, r *http.Request) {
	rows, err := s.vmRows(r)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "vms", "vmrows", pageData{VMs: rows})
}

// vmView gathers a VM's page; a VM that neither exists nor has a recent
// operation is not found.
func (s *Server) vmView(r *http.Request, name string) (*vmView, error) {
	v := &vmView{Name: name}
	v.Op, v.HasOp = s.ops.get(name)
	vm, err := s.b.GetVM(r.Context(), name)
	switch {
	case err == nil:
		v.VM, v.Exists = vm, true
	case errors.Is(err, errdefs.ErrNotFound) && v.HasOp:
	default:
		return nil, err
	}
	if v.Exists {
		sessions, err := s.b.ListSessions(r.Context(), name)
		if err != nil {
			v.SessionsErr = err.Error()
		}
		v.Sessions = sessions
	}
	return v, nil
}

func (s *Server) vmPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.vmView(r, r.PathValue("name"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "vm", "layout", pageData{Title: v.Name, Nav: "vms", VM: v})
}

func (s *Server) vmStatusPart(w http.ResponseWriter, r *http.Request) {
	v, err := s.vmView(r, r.PathValue("name"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "vm", "vmstatus", pageData{VM: v})
}
