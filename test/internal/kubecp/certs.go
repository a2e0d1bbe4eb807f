package kubecp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pair is a certificate and its key, PEM-encoded.
type pair struct {
	cert, key []byte
	parsed    *x509.Certificate
	signer    *ecdsa.PrivateKey
}

// certs are the credentials of one control plane, all made fresh for it.
type certs struct {
	ca      pair // signs every certificate below; clients trust it
	serving pair // kube-apiserver's, for 127.0.0.1 and the service names
	admin   pair // CN admin, O system:masters: the tests' client
	kubelet pair // kube-apiserver's client certificate towards kubelets
	saKey   []byte
	saPub   []byte
}

func newCerts() (*certs, error) {
	var c certs
	var err error
	if c.ca, err = issue(nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "banger-test-ca"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}); err != nil {
		return nil, err
	}
	if c.serving, err = issue(&c.ca, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, err
	}
	if c.admin, err = client(&c.ca, "admin", "system:masters"); err != nil {
		return nil, err
	}
	if c.kubelet, err = client(&c.ca, "kube-apiserver-kubelet-client", "system:masters"); err != nil {
		return nil, err
	}
	if c.saKey, c.saPub, err = serviceAccountKeys(); err != nil {
		return nil, err
	}
	return &c, nil
}

// client issues a client certificate for user cn in groups.
func client(ca *pair, cn string, groups ...string) (pair, error) {
	return issue(ca, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	})
}

// issue makes a key and a certificate from tmpl, signed by ca, or by
// itself when ca is nil. It is valid for a day.
func issue(ca *pair, tmpl *x509.Certificate) (pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pair{}, fmt.Errorf("generating a key for %s: %w", tmpl.Subject.CommonName, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return pair{}, fmt.Errorf("choosing a serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.parsed, ca.signer
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return pair{}, fmt.Errorf("signing the certificate of %s: %w", tmpl.Subject.CommonName, err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return pair{}, fmt.Errorf("reading back the certificate of %s: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return pair{}, fmt.Errorf("encoding the key of %s: %w", tmpl.Subject.CommonName, err)
	}
	return pair{
		cert:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:    pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		parsed: parsed,
		signer: key,
	}, nil
}

// serviceAccountKeys is the RSA pair kube-apiserver signs and checks
// service account tokens with.
func serviceAccountKeys() (private, public []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the service account key: %w", err)
	}
	private = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	public = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	return private, public, nil
}

// write puts every credential in dir under the names the flags use.
func (c *certs) write(dir string) error {
	files := map[string][]byte{
		"ca.crt": c.ca.cert, "ca.key": c.ca.key,
		"apiserver.crt": c.serving.cert, "apiserver.key": c.serving.key,
		"admin.crt": c.admin.cert, "admin.key": c.admin.key,
		"kubelet-client.crt": c.kubelet.cert, "kubelet-client.key": c.kubelet.key,
		"sa.key": c.saKey, "sa.pub": c.saPub,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
