package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"banger/internal/localpeer"
	"banger/internal/secretfile"
	"banger/internal/web/token"
)

// Guests and other machines. Guests are never served: a connection from
// the guests' subnet, to the bridge's own address, or over the bridge's
// link is refused whatever the config says. With web_allow_remote, other
// machines are served once they present the access token (see the token
// package): as ?token= on any page, or on the login page; either sets a
// cookie that carries it from then on. This machine's processes of the
// daemon's user need no token.

// Cookie and form names of the access token.
const (
	tokenCookie = "banger_token"
	tokenParam  = "token"
	loginPath   = "/login"
)

// tokenLifetime is how long a browser keeps the cookie. `banger web token
// --new` revokes it sooner.
const tokenLifetime = 30 * 24 * time.Hour

// needsToken reports whether the request comes from another machine, and
// so must carry the access token. A request without a recorded peer is
// taken as local, as localpeer.Rules does.
func needsToken(r *http.Request) bool {
	p, ok := localpeer.FromRequest(r)
	return ok && !p.IsLocal
}

// admitRemote lets a request from another machine through when it carries
// the access token in its cookie, and otherwise answers it: a valid
// ?token= or login form sets the cookie and redirects, anything else gets
// the login page (401). It reports whether the request may go on.
func (s *Server) admitRemote(w http.ResponseWriter, r *http.Request) bool {
	real := s.accessToken()
	switch {
	case safeMethod(r.Method) && r.URL.Query().Has(tokenParam):
		s.loginWith(w, r, r.URL.Query().Get(tokenParam), real, withoutToken(r.URL))
	case r.Method == http.MethodPost && r.URL.Path == loginPath:
		if msg := s.checkOrigin(r); msg != "" {
			s.fail(w, r, http.StatusForbidden, msg)
			return false
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		s.loginWith(w, r, r.PostFormValue(tokenParam), real, "/")
	case hasCookie(r, real):
		return true
	case safeMethod(r.Method) && strings.HasPrefix(r.URL.Path, "/static/"):
		return true // the login page's style and script; nothing secret
	default:
		s.loginPage(w, "")
	}
	return false
}

// hasCookie reports whether the request's cookie carries the token.
func hasCookie(r *http.Request, real string) bool {
	c, err := r.Cookie(tokenCookie)
	return err == nil && secretfile.Equal(c.Value, real)
}

// loginWith sets the cookie and redirects to next when presented is the
// token, and shows the login page again when it is not.
func (s *Server) loginWith(w http.ResponseWriter, r *http.Request, presented, real, next string) {
	if !secretfile.Equal(presented, real) {
		s.log.Warn("web: refused a wrong access token", "remote", r.RemoteAddr)
		s.loginPage(w, "That is not the access token: run `banger web token` on the machine that runs bangerd, and paste what it prints.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: tokenCookie, Value: real, Path: "/",
		MaxAge: int(tokenLifetime / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil,
	})
	s.log.Info("web: remote browser logged in", "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// loginPage answers 401 with the form that asks for the token.
func (s *Server) loginPage(w http.ResponseWriter, msg string) {
	s.render(w, http.StatusUnauthorized, "login", "layout", pageData{Title: "Log in", Error: msg})
}

// withoutToken is u's path and query without the token, so that it does
// not stay in the address bar and the history.
func withoutToken(u *url.URL) string {
	q := u.Query()
	q.Del(tokenParam)
	// One leading slash: "//host/" would send the browser elsewhere.
	next := &url.URL{Path: "/" + strings.TrimLeft(u.Path, "/"), RawQuery: q.Encode()}
	return next.String()
}

// accessToken is the current token; "" (no remote client gets in) when
// there is no token file or it cannot be read. It is read for each
// request, so a new token applies at once.
func (s *Server) accessToken() string {
	if s.tokenFile == "" {
		return ""
	}
	tok, err := token.Secret.Load(s.tokenFile)
	if err != nil {
		s.log.Warn("web: no access token, so no remote browser gets in", "err", err)
		return ""
	}
	return tok
}
