// Package apikey keeps the key that E2B clients present to bangerd's E2B
// API as X-API-KEY: "e2b_" and 32 random bytes in hex, in a file of
// banger's config directory readable by its owner only. `banger e2b env`
// prints it; a new key revokes the old one at once, since bangerd reads
// the file for each request.
package apikey

import "banger/internal/secretfile"

// Prefix starts every key, as E2B's own keys do.
const Prefix = "e2b_"

var key = secretfile.Secret{
	Prefix: Prefix,
	Name:   "the E2B API key",
	Renew:  "remove the file, and `banger e2b env` makes a new one",
}

// Load reads the key in path.
func Load(path string) (string, error) { return key.Load(path) }

// Ensure reads the key in path, making one when there is none.
func Ensure(path string) (string, error) { return key.Ensure(path) }

// New makes a key and replaces the one in path with it, atomically.
func New(path string) (string, error) { return key.New(path) }

// Equal compares a presented key with the real one in constant time. An
// empty real key matches nothing.
func Equal(presented, real string) bool { return secretfile.Equal(presented, real) }
