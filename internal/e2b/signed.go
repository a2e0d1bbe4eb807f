package e2b

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// With E2B_SANDBOX_URL set, the SDK's uploadUrl and downloadUrl are that
// URL's /files with a signature and no sandbox ID: the signature, made
// with the sandbox's access token, is what says which sandbox it is for.

// signedTarget finds the sandbox a signed /files request is for. ok is
// false when the request is not one, or no sandbox's token signs it.
func (s *Server) signedTarget(r *http.Request) (target, bool) {
	if !strings.HasPrefix(r.URL.Query().Get("signature"), "v1_") {
		return target{}, false
	}
	for _, rec := range s.records.all() {
		if s.signs(r, rec) {
			return target{ID: rec.ID, Port: EnvdPort, signed: true}, true
		}
	}
	return target{}, false
}

// signs reports whether r is a /files request whose URL signature, made
// with rec's access token and not expired, allows what r does.
func (s *Server) signs(r *http.Request, rec record) bool {
	q := r.URL.Query()
	sig := q.Get("signature")
	if r.URL.Path != "/files" || !strings.HasPrefix(sig, "v1_") || rec.AccessToken == "" {
		return false
	}
	op := "read"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		op = "write"
	}
	exp := q.Get("signature_expiration")
	if exp != "" {
		n, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || s.now().Unix() > n {
			return false
		}
	}
	want := signature(q.Get("path"), op, q.Get("username"), rec.AccessToken, exp)
	return subtle.ConstantTimeCompare([]byte(sig), []byte(want)) == 1
}

// signature is the SDK's URL signature: "v1_" and the unpadded base64 of
// the SHA-256 of path:operation:user:token[:expiration].
func signature(path, op, user, token, expiration string) string {
	raw := path + ":" + op + ":" + user + ":" + token
	if expiration != "" {
		raw += ":" + expiration
	}
	sum := sha256.Sum256([]byte(raw))
	return "v1_" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// all reads every record; unreadable ones are skipped.
func (rs *records) all() []record {
	entries, err := os.ReadDir(rs.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var out []record
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if r, found, err := rs.get(id); err == nil && found {
			out = append(out, r)
		}
	}
	return out
}
