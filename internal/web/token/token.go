// Package token keeps the web UI's access token: a random secret in a file
// of bangerd's state directory, readable by its owner only. A browser on
// another machine presents it once and gets a cookie; browsers on this
// machine need none. A new token revokes every cookie handed out for the
// old one.
package token

import (
	"banger/internal/atomicfile"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// size is the token's length in random bytes; it is written in hex.
const size = 32

// Load reads the token in path.
func Load(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the web UI's access token: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if b, err := hex.DecodeString(tok); err != nil || len(b) != size {
		return "", fmt.Errorf("the web UI's access token in %s is malformed: make a new one with `banger web token --new`", path)
	}
	return tok, nil
}

// Ensure reads the token in path, making one when there is none.
func Ensure(path string) (string, error) {
	tok, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(path)
	}
	return tok, err
}

// New makes a token and replaces the one in path with it, atomically.
func New(path string) (string, error) {
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making the web UI's access token: %w", err)
	}
	tok := hex.EncodeToString(b)
	if err := atomicfile.Write(path, []byte(tok+"\n")); err != nil {
		return "", fmt.Errorf("writing the web UI's access token: %w", err)
	}
	return tok, nil
}

// Equal compares a presented token with the real one in constant time.
// An empty real token matches nothing.
func Equal(presented, real string) bool {
	return real != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(real)) == 1
}
