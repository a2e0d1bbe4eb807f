// Package secretfile keeps a random secret in a file readable by its
// owner only: an optional prefix and 32 random bytes in hex. The web UI's
// access token and the E2B API's key are such secrets. A new secret
// replaces the old one atomically, so readers that load the file for each
// request revoke the old one at once.
package secretfile

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"banger/internal/atomicfile"
)

// size is a secret's length in random bytes; it is written in hex.
const size = 32

// Secret describes one kind of secret, for its file and its errors.
type Secret struct {
	// Prefix starts the secret; "" for none.
	Prefix string
	// Name is what errors call it: "the web UI's access token".
	Name string
	// Renew says how to make a new one when the file is malformed:
	// "make a new one with `banger web token --new`".
	Renew string
}

// Load reads the secret in path.
func (s Secret) Load(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", s.Name, err)
	}
	secret := strings.TrimSpace(string(data))
	b, err := hex.DecodeString(strings.TrimPrefix(secret, s.Prefix))
	if !strings.HasPrefix(secret, s.Prefix) || err != nil || len(b) != size {
		return "", fmt.Errorf("%s in %s is malformed: %s", s.Name, path, s.Renew)
	}
	return secret, nil
}

// Ensure reads the secret in path, making one when there is none.
func (s Secret) Ensure(path string) (string, error) {
	secret, err := s.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s.New(path)
	}
	return secret, err
}

// New makes a secret and replaces the one in path with it, atomically.
func (s Secret) New(path string) (string, error) {
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making %s: %w", s.Name, err)
	}
	secret := s.Prefix + hex.EncodeToString(b)
	if err := atomicfile.Write(path, []byte(secret+"\n")); err != nil {
		return "", fmt.Errorf("writing %s: %w", s.Name, err)
	}
	return secret, nil
}

// Equal compares a presented secret with the real one in constant time.
// An empty real secret matches nothing.
func Equal(presented, real string) bool {
	return real != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(real)) == 1
}
