package kubelet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"slices"
	"time"
)

// TLSOptions secure the kubelet API, which the API server calls for
// `kubectl logs` and `kubectl exec`. Only clients with a certificate
// signed by ClientCA get in (the API server's kubelet client
// certificate), and of those only the AllowedNames when they are given.
type TLSOptions struct {
	CertFile, KeyFile string // the serving pair; none makes a self-signed one
	ClientCA          string
	AllowedNames      []string // client certificate common names; none allows any
}

// config is the server's TLS configuration for node s.
func (t *TLSOptions) config(s NodeSpec) (*tls.Config, error) {
	pem, err := os.ReadFile(t.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("reading the client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the client CA %s holds no PEM certificate", t.ClientCA)
	}
	var cert tls.Certificate
	if t.CertFile != "" {
		cert, err = tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	} else {
		cert, err = selfSigned(s.Name, s.IP)
	}
	if err != nil {
		return nil, fmt.Errorf("loading the kubelet API's certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// authorize lets through only the allowed client names.
func (t *TLSOptions) authorize(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(t.AllowedNames) > 0 {
			if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 ||
				!slices.Contains(t.AllowedNames, r.TLS.PeerCertificates[0].Subject.CommonName) {
				http.Error(w, "forbidden: this client may not use the kubelet API", http.StatusForbidden)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// selfSigned makes a serving certificate for the node's name and
// address, valid for a year. The API server does not check it unless it
// is told a kubelet CA.
func selfSigned(name, ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if a := net.ParseIP(ip); a != nil {
		tmpl.IPAddresses = []net.IP{a}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
