package e2b

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"time"
)

// proxy passes a request on to port of the guest, at its address on the
// bridge (bangerd runs beside the bridge, so it reaches guests directly).
// Upgrades, websockets among them, pass through.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, v VM, port int) {
	ip, err := netip.ParseAddr(v.IP)
	if err != nil {
		failSandbox(w, r, http.StatusBadGateway, "sandbox %s has no address to reach port %d on", v.Name, port)
		return
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = addr
			pr.Out.Host = r.Host
			pr.Out.Header.Del(headerSandboxID)
			pr.Out.Header.Del(headerSandboxPort)
			pr.Out.Header.Del(headerAccessToken)
			pr.Out.Header.Del("X-API-KEY")
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.Debug("e2b: proxying to a sandbox port", "vm", v.Name, "port", port, "err", err)
			failSandbox(w, r, http.StatusBadGateway, "sandbox %s: nothing answers on port %d (%v)", v.Name, port, err)
		},
		FlushInterval: -1,
		Transport:     guestTransport,
	}
	rp.ServeHTTP(w, r)
}

// guestTransport reaches guests directly: never through the proxy the
// environment may name.
var guestTransport = &http.Transport{
	Proxy:                 nil,
	DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	MaxIdleConnsPerHost:   16,
	IdleConnTimeout:       90 * time.Second,
	ResponseHeaderTimeout: 0,
}
