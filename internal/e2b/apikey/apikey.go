// Package apikey keeps the key that E2B clients present to bangerd's E2B
// API as X-API-KEY: "e2b_" and 32 random bytes in hex, in a file of
// banger's config directory readable by its owner only. `banger e2b env`
// prints it; a new key revokes the old one at once, since bangerd reads
// the file for each request.
package apikey

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

// Prefix starts every key, as E2B's own keys do.
const Prefix = "e2b_"

// size is the key's length in random bytes; it is written in hex.
const size = 32

// Load reads the key in path.
func Load(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the E2B API key: %w", err)
	}
	key := strings.TrimSpace(string(data))
	b, err := hex.DecodeString(strings.TrimPrefix(key, Prefix))
	if !strings.HasPrefix(key, Prefix) || err != nil || len(b) != size {
		return "", fmt.Errorf("the E2B API key in %s is malformed: remove the file, and `banger e2b env` makes a new one", path)
	}
	return key, nil
}

// Ensure reads the key in path, making one when there is none.
func Ensure(path string) (string, error) {
	key, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(path)
	}
	return key, err
}

// New makes a key and replaces the one in path with it, atomically.
func New(path string) (string, error) {
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making the E2B API key: %w", err)
	}
	key := Prefix + hex.EncodeToString(b)
	if err := atomicfile.Write(path, []byte(key+"\n")); err != nil {
		return "", fmt.Errorf("writing the E2B API key: %w", err)
	}
	return key, nil
}

// Equal compares a presented key with the real one in constant time. An
// empty real key matches nothing.
func Equal(presented, real string) bool {
	return real != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(real)) == 1
}
