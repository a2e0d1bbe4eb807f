package envd

import (
	"compress/gzip"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"banger/internal/errdefs"
)

// writtenFile is one entry of POST /files' answer.
type writtenFile struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Path string `json:"path"`
}

// filesRequest checks a /files request (user, token or signature) and
// finds the sandbox's file operations.
func (s *Server) filesRequest(r *http.Request, op string) (Files, error) {
	sb, _ := sandboxFrom(r.Context())
	q := r.URL.Query()
	user := q.Get("username")
	if user == "" {
		user = userOf(r.Header)
	}
	if err := checkUser(user); err != nil {
		return nil, err
	}
	if err := checkAccess(r, sb.AccessToken, op, time.Now()); err != nil {
		return nil, err
	}
	return s.files(r.Context(), sb.VM)
}

// checkAccess lets a request through when the sandbox has no token,
// when it carries the token, or when its URL is signed with it.
func checkAccess(r *http.Request, token, op string, now time.Time) error {
	if token == "" {
		return nil
	}
	if h := r.Header.Get("X-Access-Token"); h != "" {
		if subtle.ConstantTimeCompare([]byte(h), []byte(token)) != 1 {
			return fmt.Errorf("%w: the access token does not match the sandbox's", errUnauthorized)
		}
		return nil
	}
	q := r.URL.Query()
	sig, exp := q.Get("signature"), q.Get("signature_expiration")
	if sig == "" {
		return fmt.Errorf("%w: send the sandbox's access token in X-Access-Token, or use a signed URL", errUnauthorized)
	}
	if exp != "" {
		at, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || now.Unix() > at {
			return fmt.Errorf("%w: the signed URL has expired; sign a new one", errUnauthorized)
		}
	}
	want := signature(q.Get("path"), op, q.Get("username"), token, exp)
	if subtle.ConstantTimeCompare([]byte(sig), []byte(want)) != 1 {
		return fmt.Errorf("%w: the URL's signature does not match its path, operation, user and expiry", errUnauthorized)
	}
	return nil
}

// signature signs a /files URL: "v1_" and the unpadded base64 of the
// SHA-256 of "path:operation:user:token", plus ":expiry" when it has one.
func signature(p, op, user, token, exp string) string {
	raw := p + ":" + op + ":" + user + ":" + token
	if exp != "" {
		raw += ":" + exp
	}
	sum := sha256.Sum256([]byte(raw))
	return "v1_" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// getFile answers a file's bytes.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) {
	f, err := s.filesRequest(r, "read")
	if err != nil {
		writeError(w, err)
		return
	}
	p := r.URL.Query().Get("path")
	if p == "" {
		writeError(w, errdefs.InvalidArgument("no path given: add ?path=FILE"))
		return
	}
	rc, fi, err := f.ReadFile(r.Context(), resolve(p))
	if err != nil {
		writeError(w, err)
		return
	}
	defer rc.Close()
	if fi.Type == "dir" {
		writeError(w, errdefs.InvalidArgument("%s is a directory: list it with ListDir", fi.Path))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fi.Name}))
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size, 10))
	if _, err := io.Copy(w, io.LimitReader(rc, fi.Size)); err != nil {
		s.log.Debug("sending a file", "path", fi.Path, "err", err)
	}
}

// postFiles writes the uploaded files: multipart parts (each to the
// path, or to its own filename without one) or a whole body.
func (s *Server) postFiles(w http.ResponseWriter, r *http.Request) {
	f, err := s.filesRequest(r, "write")
	if err != nil {
		writeError(w, err)
		return
	}
	if err := refuseMetadata(r.Header); err != nil {
		writeError(w, err)
		return
	}
	var out []writtenFile
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		out, err = s.writeParts(r, f)
	} else {
		out, err = s.writeBody(r, f)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// refuseMetadata refuses an upload that asks for file metadata
// (X-Metadata-* headers): the guest agent keeps none, and dropping it
// silently would lose what the caller meant to store.
func refuseMetadata(h http.Header) error {
	for k := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Metadata-") {
			return errdefs.InvalidArgument("file metadata (%s) is not supported by banger's sandboxes: upload without metadata", k)
		}
	}
	return nil
}

// writeBody writes an application/octet-stream body (gzip-encoded or
// not) to ?path.
func (s *Server) writeBody(r *http.Request, f Files) ([]writtenFile, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return nil, errdefs.InvalidArgument("no path given: add ?path=FILE, or send multipart/form-data with the path as each part's filename")
	}
	body := io.Reader(r.Body)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, errdefs.InvalidArgument("reading the gzip body: %v", err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, errdefs.InvalidArgument("content encoding %q is not supported: send gzip or none", enc)
	}
	fi, err := f.WriteFile(r.Context(), resolve(p), body)
	if err != nil {
		return nil, err
	}
	return []writtenFile{written(fi)}, nil
}

// writeParts writes each file part of a multipart body.
func (s *Server) writeParts(r *http.Request, f Files) ([]writtenFile, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errdefs.InvalidArgument("reading the multipart body: %v", err)
	}
	dest := r.URL.Query().Get("path")
	var out []writtenFile
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errdefs.InvalidArgument("reading the multipart body: %v", err)
		}
		p := dest
		if p == "" {
			p = partFilename(part.Header.Get("Content-Disposition"))
		}
		if p == "" {
			return nil, errdefs.InvalidArgument("part %q has no destination: give ?path=FILE or the path as the part's filename", part.FormName())
		}
		fi, err := f.WriteFile(r.Context(), resolve(p), part)
		part.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, written(fi))
	}
	if len(out) == 0 {
		return nil, errdefs.InvalidArgument("the multipart body has no file parts")
	}
	return out, nil
}

// partFilename is a part's filename as sent, a whole path (Go's
// Part.FileName keeps only its last element).
func partFilename(disposition string) string {
	_, params, err := mime.ParseMediaType(disposition)
	if err != nil {
		return ""
	}
	return params["filename"]
}

func written(fi FileInfo) writtenFile {
	name := fi.Name
	if name == "" {
		name = path.Base(fi.Path)
	}
	return writtenFile{Name: name, Type: "file", Path: fi.Path}
}

// getEnvs answers the sandbox's default environment.
func (s *Server) getEnvs(w http.ResponseWriter, r *http.Request) {
	sb, _ := sandboxFrom(r.Context())
	env := sb.Env
	if env == nil {
		env = map[string]string{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(env)
}
