package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

// fakeMise is the binary in the test tarball.
var fakeMise = []byte("\x7fELF fake mise binary")

func tgz(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

func sri(data []byte) string {
	sum := sha512.Sum512(data)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// fakeRegistry serves mise's metadata and one tarball like an npm
// registry. integrity nil means the tarball's real one.
type fakeRegistry struct {
	tarball   []byte
	integrity *string
	latest    string
}

func (f *fakeRegistry) start(t *testing.T) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.EscapedPath() {
		case "/@jdxcode%2fmise-linux-x64":
			integrity := sri(f.tarball)
			if f.integrity != nil {
				integrity = *f.integrity
			}
			dist := map[string]string{"tarball": srv.URL + "/mise.tgz", "integrity": integrity, "shasum": "ignored"}
			json.NewEncoder(w).Encode(map[string]any{
				"name":      misePackage,
				"dist-tags": map[string]string{"latest": f.latest},
				"versions":  map[string]any{"2025.1.0": map[string]any{"dist": dist}},
			})
		case "/mise.tgz":
			w.Write(f.tarball)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func getMise(t *testing.T, registry string) (string, error) {
	t.Helper()
	rel, err := resolveMise(t.Context(), http.DefaultClient, registry)
	if err != nil {
		return "", err
	}
	if rel.Version != "2025.1.0" {
		t.Errorf("version = %q", rel.Version)
	}
	dst := filepath.Join(t.TempDir(), "mise")
	return dst, fetchMise(t.Context(), http.DefaultClient, rel, dst, nil, "mise")
}

func TestFetchMise(t *testing.T) {
	reg := &fakeRegistry{tarball: tgz(t, map[string][]byte{"package/package.json": []byte("{}"), "package/bin/mise": fakeMise}), latest: "2025.1.0"}
	srv := reg.start(t)
	dst, err := getMise(t, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, fakeMise) {
		t.Fatalf("mise = %q, %v", got, err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode = %v", fi.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), "*.tgz")); len(left) != 0 {
		t.Errorf("tarball left behind: %v", left)
	}
}

func TestFetchMiseRefuses(t *testing.T) {
	good := tgz(t, map[string][]byte{"package/bin/mise": fakeMise})
	other := sri([]byte("something else"))
	noSHA512 := "sha1-AAAA"
	for name, c := range map[string]struct {
		reg  fakeRegistry
		want string
	}{
		"wrong integrity": {fakeRegistry{tarball: good, integrity: &other, latest: "2025.1.0"}, "does not match"},
		"no sha512":       {fakeRegistry{tarball: good, integrity: &noSHA512, latest: "2025.1.0"}, "no sha512 integrity"},
		"no binary":       {fakeRegistry{tarball: tgz(t, map[string][]byte{"package/README": []byte("hi")}), latest: "2025.1.0"}, "has no package/bin/mise"},
		"not ELF":         {fakeRegistry{tarball: tgz(t, map[string][]byte{"package/bin/mise": []byte("#!/bin/sh\n")}), latest: "2025.1.0"}, "not a Linux binary"},
		"not gzip":        {fakeRegistry{tarball: []byte("plain"), latest: "2025.1.0"}, "reading mise tarball"},
		"no latest":       {fakeRegistry{tarball: good}, "no latest release"},
		"missing version": {fakeRegistry{tarball: good, latest: "9.9.9"}, "has no tarball"},
	} {
		srv := c.reg.start(t)
		dst, err := getMise(t, srv.URL)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, c.want)
		}
		if dst != "" {
			if _, serr := os.Stat(dst); serr == nil {
				t.Errorf("%s: a refused mise was written", name)
			}
		}
	}
}

func TestResolveMiseErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	if _, err := resolveMise(t.Context(), http.DefaultClient, srv.URL); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing package: err = %v, want not found", err)
	}
	if _, err := resolveMise(t.Context(), http.DefaultClient, "ftp://example.invalid"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("ftp registry: err = %v, want invalid argument", err)
	}
}

func TestSHA512Digests(t *testing.T) {
	d := sri([]byte("x"))
	got, err := sha512Digests("sha1-abc " + d + "?opt")
	if err != nil || len(got) != 1 {
		t.Fatalf("got %d digests, %v", len(got), err)
	}
	if _, err := sha512Digests("sha512-!!!"); err == nil {
		t.Error("bad base64 accepted")
	}
}
