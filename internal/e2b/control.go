package e2b

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"banger/internal/errdefs"
)

// Labels mark a VM as an E2B sandbox: LabelKey=LabelValue. The E2B API
// sees and touches only such VMs; a sandbox's metadata is its other
// labels.
const (
	LabelKey   = "e2b"
	LabelValue = "sandbox"
)

// Defaults of the wire contract, in seconds.
const (
	defaultTimeoutV1 = 15  // POST /sandboxes, POST .../resume
	defaultTimeout   = 300 // POST /v2/sandboxes, connect, fork
	// createSlack is added to a new VM's first expiry, so that a create
	// slower than its timeout is not deleted while it boots; the timeout
	// counts from when the sandbox runs.
	createSlack = 10 * time.Minute
	// maxTimeout bounds a timeout: a year.
	maxTimeout = 365 * 24 * 3600
	// clientID fills a deprecated field the SDK still requires.
	clientID = "banger"
	// baseTemplate is the SDK's default template: banger's default image.
	baseTemplate = "base"
)

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /sandboxes", func(w http.ResponseWriter, r *http.Request) { s.create(w, r, false) })
	m.HandleFunc("POST /v2/sandboxes", func(w http.ResponseWriter, r *http.Request) { s.create(w, r, true) })
	m.HandleFunc("GET /sandboxes", s.listV1)
	m.HandleFunc("GET /v2/sandboxes", s.listV2)
	m.HandleFunc("GET /sandboxes/{id}", s.get)
	m.HandleFunc("DELETE /sandboxes/{id}", s.kill)
	m.HandleFunc("POST /sandboxes/{id}/timeout", s.setTimeout)
	m.HandleFunc("POST /sandboxes/{id}/pause", s.pause)
	m.HandleFunc("POST /sandboxes/{id}/resume", s.resume)
	m.HandleFunc("POST /sandboxes/{id}/connect", s.connect)
	m.HandleFunc("POST /v2/sandboxes/{id}/connect", s.connect)
	m.HandleFunc("GET /sandboxes/{id}/metrics", s.metrics)
	m.HandleFunc("PUT /sandboxes/{id}/network", s.updateNetwork)
	m.HandleFunc("POST /sandboxes/{id}/fork", s.fork)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "%s %s is not part of the E2B API banger serves; see docs/e2b.md", r.Method, r.URL.Path)
	})
	s.mux = m
}

// create makes a sandbox: a VM from the template's image, labelled with
// the metadata, expiring after the timeout. It answers once the guest
// runs commands.
func (s *Server) create(w http.ResponseWriter, r *http.Request, v2 bool) {
	var body newSandbox
	if !decodeBody(w, r, &body, false) {
		return
	}
	timeout, policy, err := s.checkCreate(body, v2)
	if err != nil {
		failErr(w, err)
		return
	}
	rec := record{ID: newID(), Template: body.TemplateID, Env: body.EnvVars, StartedAt: s.now().UTC()}
	if rec.Template == "" {
		rec.Template = baseTemplate
	}
	if v2 || (body.Secure != nil && *body.Secure) {
		rec.AccessToken = newToken()
	}
	rec.AllowInternet, rec.AllowOut, rec.DenyOut = body.AllowInternet, body.networkAllow(), body.networkDeny()
	spec := CreateSpec{
		Name: rec.ID, Image: imageOf(rec.Template), Network: policy,
		Labels: sandboxLabels(body.Metadata), ExpiresAt: s.now().Add(timeout + createSlack),
	}
	if _, err := s.vms.Create(r.Context(), spec); err != nil {
		if errdefs.KindOf(err) == errdefs.KindNotFound {
			err = errdefs.InvalidArgument("template %s: %v", rec.Template, err)
		}
		failErr(w, err)
		return
	}
	if err := s.finishCreate(r.Context(), rec, timeout); err != nil {
		failErr(w, err)
		return
	}
	s.log.Info("e2b: sandbox created", "vm", rec.ID, "template", rec.Template)
	writeJSON(w, http.StatusCreated, s.sandboxOf(r, rec))
}

// finishCreate records a new sandbox and starts its timeout; on failure
// the VM goes.
func (s *Server) finishCreate(ctx context.Context, rec record, timeout time.Duration) error {
	err := s.records.put(rec)
	if err == nil {
		_, err = s.vms.SetExpiry(ctx, rec.ID, s.now().Add(timeout))
	}
	if err != nil {
		cleanup := context.WithoutCancel(ctx)
		err = errors.Join(err, s.vms.Delete(cleanup, rec.ID), s.records.remove(rec.ID))
	}
	return err
}

// checkCreate refuses what banger cannot do, and returns the timeout and
// the network policy of a create.
func (s *Server) checkCreate(body newSandbox, v2 bool) (time.Duration, string, error) {
	def := defaultTimeoutV1
	if v2 {
		def = defaultTimeout
	}
	timeout, err := seconds(body.Timeout, def)
	if err != nil {
		return 0, "", err
	}
	if err := body.unsupported(); err != nil {
		return 0, "", err
	}
	if _, ok := body.Metadata[LabelKey]; ok {
		return 0, "", errdefs.InvalidArgument("metadata key %q is banger's own (it marks E2B sandboxes): use another key", LabelKey)
	}
	policy, err := createPolicy(body.AllowInternet, body.Network)
	return timeout, policy, err
}

// unsupported refuses the options banger has no counterpart for.
func (b newSandbox) unsupported() error {
	switch {
	case b.AutoPause != nil && *b.AutoPause:
		return errdefs.InvalidArgument("autoPause (lifecycle onTimeout 'pause') is not supported: banger deletes a sandbox when its timeout passes; pause it yourself with `sandbox.pause()`")
	case b.AutoResume != nil && b.AutoResume.Enabled:
		return errdefs.InvalidArgument("autoResume is not supported: resume a paused sandbox with `Sandbox.connect()`")
	case b.MCP != nil:
		return errdefs.InvalidArgument("mcp is not supported by banger's E2B API")
	case b.IAM != nil:
		return errdefs.InvalidArgument("iam (workload identity) is not supported by banger's E2B API")
	case b.VolumeMounts != nil:
		return errdefs.InvalidArgument("volumeMounts are not supported by banger's E2B API")
	}
	return nil
}

// seconds reads a timeout in seconds, def when absent.
func seconds(n *int, def int) (time.Duration, error) {
	if n == nil {
		return time.Duration(def) * time.Second, nil
	}
	if *n <= 0 || *n > maxTimeout {
		return 0, errdefs.InvalidArgument("timeout %d: give a number of seconds from 1 to %d (a year)", *n, maxTimeout)
	}
	return time.Duration(*n) * time.Second, nil
}

// imageOf is the banger image of a template: the default image for
// "base", else the template as an image name or OCI reference.
func imageOf(template string) string {
	if template == baseTemplate {
		return ""
	}
	return template
}

// sandboxLabels are a new sandbox's labels: its metadata and the mark.
func sandboxLabels(metadata map[string]string) map[string]string {
	labels := make(map[string]string, len(metadata)+1)
	for k, v := range metadata {
		labels[k] = v
	}
	labels[LabelKey] = LabelValue
	return labels
}

// sandboxOf is the answer of create, connect and resume.
func (s *Server) sandboxOf(r *http.Request, rec record) sandbox {
	return sandbox{
		SandboxID: rec.ID, TemplateID: rec.Template, Alias: rec.Template, ClientID: clientID,
		EnvdVersion: s.envdVersion, EnvdAccessToken: rec.AccessToken, Domain: domainOf(r),
	}
}

// domainOf is the domain sandbox hosts are under: "localhost:PORT", PORT
// being the listener's, so that PORT-ID.localhost:PORT reaches it.
func domainOf(r *http.Request) string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != "" {
		return "localhost:" + port
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(a.String()); err == nil {
			return "localhost:" + port
		}
	}
	return "localhost"
}

// newID is a new sandbox's ID, which is its VM's name: "e2b-" and 12
// lowercase letters and digits.
func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	var sb strings.Builder
	sb.WriteString("e2b-")
	for _, c := range b {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

// newToken is a new envd access token.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
